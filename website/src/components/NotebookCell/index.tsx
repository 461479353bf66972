import CodeBlock from "@theme/CodeBlock";
import type { ReactNode } from "react";
import styles from "./styles.module.css";

/** What a cell showed when the chapter was recorded (outputs.json beside each part of the book). */
export interface RecordedOutput {
  stdout: string;
  stderr: string;
  value?: string;
  error?: string;
}

/** The machine a cell's output was recorded on (tutorials/runner/src/machine.ts). */
export interface RecordedMachine {
  kernel: string;
  /** "none", "KVM", "TCG" (QEMU's emulation) or "VM". */
  virtualization: string;
  cpu: string;
}

export interface NotebookCellProps {
  /** 1-based position of the cell in its chapter. */
  n: number;
  source: string;
  /** Fence attributes after "ts", e.g. ["throws=/EPERM/"]. */
  attrs: string[];
  hidden: boolean;
  /** Absent when the cell has no recording for its current text. */
  output?: RecordedOutput;
  kernel?: string;
  date?: string;
  /** Where the output was recorded; absent in recordings older than the field. */
  machine?: RecordedMachine;
  /** The cell was recorded on another machine than the rest of its chapter (say, a VM guest). */
  elsewhere?: boolean;
}

const VIRTUALIZATION: Record<string, string> = {
  none: "no virtualisation",
  KVM: "KVM guest",
  TCG: "QEMU TCG (emulated) guest",
  VM: "virtual machine",
  unknown: "machine not recorded",
};

function OutputBlock({
  n,
  output,
  kernel,
  date,
  machine,
  elsewhere,
}: Pick<
  NotebookCellProps,
  "n" | "output" | "kernel" | "date" | "machine" | "elsewhere"
>): ReactNode {
  if (!output) {
    return (
      <div
        className={`nb-output ${styles.output} ${styles.missing}`}
        data-testid="nb-output-missing"
      >
        No recorded output for this cell.
      </div>
    );
  }
  const empty = !output.stdout && !output.stderr && output.value === undefined && !output.error;
  return (
    <div className={`nb-output ${styles.output}`} data-kernel={kernel} data-testid="nb-output">
      <div className={styles.outputHeader}>
        <span className={styles.prompt}>Out [{n}]</span>
        <span
          className={`nb-kernel ${styles.kernel}${elsewhere ? ` ${styles.elsewhere}` : ""}`}
          title={[
            date ? `recorded ${date}` : "",
            machine ? `CPU: ${machine.cpu}` : "",
            elsewhere ? "recorded on another machine than the rest of the chapter" : "",
          ]
            .filter(Boolean)
            .join("\n")}
        >
          Linux {kernel}
          {machine ? ` · ${VIRTUALIZATION[machine.virtualization] ?? machine.virtualization}` : ""}
          {machine && machine.virtualization !== "unknown" ? ` · ${machine.cpu}` : ""}
          {date ? ` · ${date.slice(0, 10)}` : ""}
        </span>
      </div>
      {output.stdout ? <pre className={`nb-stdout ${styles.stream}`}>{output.stdout}</pre> : null}
      {output.stderr ? (
        <pre className={`nb-stderr ${styles.stream} ${styles.stderr}`}>{output.stderr}</pre>
      ) : null}
      {output.error ? (
        <pre className={`nb-error ${styles.stream} ${styles.error}`}>{output.error}</pre>
      ) : null}
      {output.value !== undefined ? (
        <pre className={`nb-value ${styles.stream} ${styles.value}`}>{output.value}</pre>
      ) : null}
      {empty ? <div className={styles.empty}>(no output)</div> : null}
    </div>
  );
}

/** One notebook cell: its code, then what it printed and returned when the chapter ran. */
export default function NotebookCell(props: NotebookCellProps): ReactNode {
  const { n, source, attrs, hidden } = props;
  // Only what tells a reader something: the test harness's patterns and limits stay out.
  const badges = attrs.flatMap((a) => {
    if (a === "throws" || a.startsWith("throws=")) return ["expected to throw"];
    if (a.startsWith("needs=")) return [`needs ${a.slice(6).split(",").join(", ")} programs`];
    return [];
  });
  const cell = (
    <>
      <div className={styles.inputHeader}>
        <span className={styles.prompt}>In [{n}]</span>
        {badges.map((b) => (
          <span key={b} className={styles.badge}>
            {b}
          </span>
        ))}
      </div>
      <CodeBlock language="ts">{source}</CodeBlock>
      <OutputBlock
        n={n}
        output={props.output}
        kernel={props.kernel}
        date={props.date}
        machine={props.machine}
        elsewhere={props.elsewhere}
      />
    </>
  );
  return (
    <div className={`nb-cell ${styles.cell}`} data-cell={n}>
      {hidden ? (
        <details className={styles.hidden}>
          <summary>Set-up cell [{n}]</summary>
          {cell}
        </details>
      ) : (
        cell
      )}
    </div>
  );
}
