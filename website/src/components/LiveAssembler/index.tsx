import { type ReactNode, useMemo, useState } from "react";
import { assembleLive, type LiveResult } from "./assembler";
import styles from "./styles.module.css";

export interface LiveAssemblerProps {
  /** The assembler text the cell starts with. */
  initial: string;
}

/**
 * A live cell: edit BPF assembler (the verifier's syntax) and see the encoded bytes and
 * their disassembly, computed in the browser by @ts-ebpf/dsl.
 */
export default function LiveAssembler({ initial }: LiveAssemblerProps): ReactNode {
  const [text, setText] = useState(initial);
  const outcome = useMemo((): { result?: LiveResult; error?: string } => {
    try {
      return { result: assembleLive(text) };
    } catch (e) {
      return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
  }, [text]);
  return (
    <div className={`nb-live ${styles.live}`}>
      <div className={styles.header}>
        Live cell — edit the assembler; @ts-ebpf/dsl runs in your browser
      </div>
      <textarea
        className={`nb-live-input ${styles.input}`}
        value={text}
        spellCheck={false}
        rows={Math.max(4, text.split("\n").length + 1)}
        onChange={(e) => setText(e.target.value)}
        aria-label="BPF assembler"
      />
      {outcome.error ? (
        <pre className={`nb-live-error ${styles.error}`}>{outcome.error}</pre>
      ) : (
        <div className={styles.columns}>
          <div>
            <div className={styles.caption}>bytes ({outcome.result!.byteLength})</div>
            <pre className={`nb-live-bytes ${styles.pane}`}>{outcome.result!.hex.join("\n")}</pre>
          </div>
          <div>
            <div className={styles.caption}>disassembly</div>
            <pre className={`nb-live-disasm ${styles.pane}`}>{outcome.result!.disassembly}</pre>
          </div>
        </div>
      )}
    </div>
  );
}
