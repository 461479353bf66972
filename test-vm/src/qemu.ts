// Boots one guest and watches it: the console goes to a log file, events come
// over the second serial port, a kernel panic or a timeout ends the run.
import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { encodeConfig, type GuestConfig, type GuestEvent } from "./events.js";
import type { PreparedKernel } from "./kernels.js";
import { repoRoot } from "./paths.js";

export type Accel = "kvm" | "tcg";

/** KVM only when /dev/kvm opens and the CPU exposes virtualization (nested KVM without it hangs). */
export function detectAccel(): Accel {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync("/proc/cpuinfo", "utf8")) ? "kvm" : "tcg";
  } catch {
    return "tcg";
  }
}

/**
 * vCPUs per guest when `jobs` guests run at once on `hostCores`: the cores
 * shared out, at least 1, at most 2. Never more vCPUs than cores in all: a
 * guest kernel waits on its other vCPU (TLB-shootdown IPIs after V8's
 * mprotects, spinlocks) and under TCG that vCPU is a host thread the host may
 * have descheduled. On 2 cores, two 2-vCPU guests ran their kernel tests in
 * 23 min; two 1-vCPU guests in 8-9.5 min, and one 2-vCPU guest alone in 7.6.
 */
export function defaultGuestCpus(hostCores: number, jobs: number): number {
  return Math.max(1, Math.min(2, Math.floor(hostCores / Math.max(1, jobs))));
}

export interface GuestOptions {
  kernel: PreparedKernel;
  initramfs: string;
  config: GuestConfig;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  timeoutMs: number;
  /**
   * Kill the guest when no event (a test starting or ending, a file, a phase)
   * arrives for this long: a hang, told apart from a slow but moving guest.
   */
  stallMs?: number;
  logPath: string;
  /** Debug shell on the terminal instead of a test run. */
  shell?: boolean;
  /** A shell command run in the guest instead of the tests (its output streams to this terminal). */
  exec?: string;
  /** A host directory shared writable with the guest at /mnt/out (TS_EBPF_VM_OUT). */
  outDir?: string;
  onEvent?: (ev: GuestEvent, elapsedMs: number) => void;
}

export type GuestStatus = "completed" | "panic" | "timeout" | "fatal" | "crashed";

export interface GuestOutcome {
  status: GuestStatus;
  /** What went wrong, for every status but "completed". */
  detail?: string;
  events: GuestEvent[];
  /** Host time from QEMU start until the guest's init ran. */
  bootMs?: number;
  wallMs: number;
  /**
   * Host CPU time QEMU used (user + system): unlike wall time it barely moves
   * when other work loads the host, so it shows what the guest itself cost.
   */
  cpuMs?: number;
  /** BUG/Oops/WARNING lines from the kernel log. */
  kernelWarnings: string[];
  logPath: string;
}

const PANIC = /Kernel panic - not syncing.*/;
const WARNING = /\b(BUG: .*|Oops: .*|WARNING: CPU: .*|general protection fault.*)/;

export function qemuArgs(o: GuestOptions, eventsSocket: string | undefined): string[] {
  const append = [
    "console=ttyS0",
    "panic=-1",
    // Under TCG on a loaded host the IO-APIC timer check can fail and panic
    // the boot ("IO-APIC + timer doesn't work!"); virtual machines skip it.
    "no_timer_check",
    "loglevel=4",
    `tsebpf.mode=${o.shell ? "shell" : o.exec !== undefined ? "exec" : "run"}`,
    ...(o.exec !== undefined ? [`tsebpf.exec=${Buffer.from(o.exec).toString("base64")}`] : []),
    ...(o.outDir !== undefined ? ["tsebpf.out=1"] : []),
    `tsebpf.9pcache=${process.env.TS_EBPF_VM_9P_CACHE ?? "loose"}`,
    `tsebpf.config=${encodeConfig(o.config)}`,
  ];
  const accel =
    o.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg", "-cpu", "max"];
  return [
    "-machine",
    "q35",
    ...accel,
    "-smp",
    String(o.cpus),
    "-m",
    String(o.memoryMiB),
    "-nodefaults",
    "-no-reboot",
    "-display",
    "none",
    "-kernel",
    o.kernel.vmlinuz,
    "-initrd",
    o.initramfs,
    "-append",
    append.join(" "),
    "-serial",
    o.shell ? "mon:stdio" : "stdio",
    ...(eventsSocket
      ? ["-chardev", `socket,id=events,path=${eventsSocket}`, "-serial", "chardev:events"]
      : ["-serial", "null"]),
    "-fsdev",
    `local,id=repo,path=${repoRoot},security_model=none,readonly=on`,
    "-device",
    "virtio-9p-pci,fsdev=repo,mount_tag=repo",
    ...(o.outDir !== undefined
      ? [
          "-fsdev",
          `local,id=out,path=${o.outDir},security_model=none`,
          "-device",
          "virtio-9p-pci,fsdev=out,mount_tag=out",
        ]
      : []),
  ];
}

/** The guest's last console line in exec mode: the command's exit status. */
const EXEC_EXIT = /^ts-ebpf-vm: exit (\d+)\r?$/m;

/**
 * Runs `o.exec` in a guest: its console (the command's output, and kernel
 * warnings) streams to `write`; resolves with the command's exit status, or
 * 124 when the guest outlives `timeoutMs`, or 1 when it stops without one.
 */
export function runExec(
  o: GuestOptions & { exec: string },
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  mkdirSync(dirname(o.logPath), { recursive: true });
  const log = createWriteStream(o.logPath);
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-system-x86_64", qemuArgs(o, undefined), {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let tail = "";
    let status: number | undefined;
    const timer = setTimeout(() => {
      write(`\ntest-vm: the guest ran past ${Math.round(o.timeoutMs / 1000)} s; killing it\n`);
      status = 124;
      child.kill("SIGKILL");
    }, o.timeoutMs);
    // Decoded as a stream: a UTF-8 character split between two reads stays whole.
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      log.write(text);
      write(text);
      tail = (tail + text).slice(-4096);
      const m = EXEC_EXIT.exec(tail);
      if (m && status === undefined) status = Number(m[1]);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`qemu-system-x86_64: ${e.message}`));
    });
    child.on("close", () => {
      clearTimeout(timer);
      log.end();
      resolve(status ?? 1);
    });
  });
}

/** An interactive guest with a shell on this terminal. */
export function runShell(o: GuestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-system-x86_64", qemuArgs({ ...o, shell: true }, undefined), {
      stdio: "inherit",
    });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

export async function runGuest(o: GuestOptions): Promise<GuestOutcome> {
  mkdirSync(dirname(o.logPath), { recursive: true });
  const sockDir = mkdtempSync(join(tmpdir(), "ts-ebpf-vm-"));
  const socketPath = join(sockDir, "events.sock");
  const log = createWriteStream(o.logPath);
  const started = Date.now();
  const events: GuestEvent[] = [];
  const kernelWarnings: string[] = [];
  let status: GuestStatus | undefined;
  let detail: string | undefined;
  let bootMs: number | undefined;
  let qemu: ChildProcess | undefined;
  let lastPhase = "boot";
  let cpuMs: number | undefined;
  let lastFile = "";
  let currentTest = "";
  let stallTimer: NodeJS.Timeout | undefined;
  const where = () =>
    `${lastFile ? `${lastPhase}, ${lastFile}` : lastPhase}${currentTest ? `, in test "${currentTest}"` : ""}`;
  const armStall = () => {
    if (o.stallMs === undefined || status !== undefined) return;
    clearTimeout(stallTimer);
    stallTimer = setTimeout(
      () =>
        finish(
          "timeout",
          `no progress for ${Math.round(o.stallMs! / 1000)} s (hung in ${where()}); killed`,
        ),
      o.stallMs,
    );
    stallTimer.unref();
  };

  const finish = (s: GuestStatus, d?: string, graceMs = 0) => {
    if (status !== undefined) return;
    status = s;
    detail = d;
    const child = qemu;
    if (child) setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
  };

  const onEvent = (ev: GuestEvent) => {
    events.push(ev);
    const elapsed = Date.now() - started;
    if (ev.ev === "boot") bootMs = elapsed;
    if (ev.ev === "phase") lastPhase = ev.name;
    if (ev.ev === "file-start") lastFile = `in ${ev.file}`;
    if (ev.ev === "file") lastFile = `after ${ev.file}`;
    if (ev.ev === "test-start") currentTest = ev.name;
    if (ev.ev === "test-end" || ev.ev === "file") currentTest = "";
    armStall();
    if (ev.ev === "fatal") finish("fatal", ev.message, 5_000);
    if (ev.ev === "runner-exit" && ev.code !== 0 && !events.some((e) => e.ev === "done")) {
      finish("crashed", `the guest runner exited with ${ev.code} before finishing`, 10_000);
    }
    o.onEvent?.(ev, elapsed);
  };

  const server: Server = createServer((sock) => {
    let buf = "";
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl).replace(/\r$/, "").trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          onEvent(JSON.parse(line) as GuestEvent);
        } catch {
          log.write(`\n[ts-ebpf-vm host] unparsable event line: ${line}\n`);
        }
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });

  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("qemu-system-x86_64", qemuArgs(o, socketPath), {
        stdio: ["pipe", "pipe", "pipe"],
      });
      qemu = child;
      child.on("error", reject);
      const ticks = 100; // USER_HZ, 100 on every x86 Linux
      const sampleCpu = () => {
        try {
          // utime and stime are fields 14 and 15 of /proc/<pid>/stat, after "(comm)".
          const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
        } catch {
          // exited between samples; keep the last value
        }
      };
      const cpuTimer = setInterval(sampleCpu, 1000);
      const timer = setTimeout(() => {
        finish(
          "timeout",
          `no result after ${Math.round(o.timeoutMs / 1000)} s (hung in ${where()}); killed`,
        );
      }, o.timeoutMs);
      armStall();
      let pending = "";
      // Each console line goes to the log with the host's seconds since QEMU
      // started: the gaps show where a guest spends its time (vitest prints
      // per-file durations, the tutorials only a line per chapter).
      const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(7)}] `;
      const onConsole = (chunk: Buffer) => {
        pending += chunk.toString("latin1");
        for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
          const line = pending.slice(0, nl).replace(/\r$/, "");
          pending = pending.slice(nl + 1);
          log.write(Buffer.from(`${stamp()}${line}\n`, "latin1"));
          const panic = PANIC.exec(line);
          if (panic) finish("panic", panic[0], 3_000);
          const warn = WARNING.exec(line);
          if (warn && kernelWarnings.length < 20) kernelWarnings.push(warn[1]!.trim());
        }
      };
      child.stdout.on("data", onConsole);
      child.stderr.on("data", (c: Buffer) => log.write(c));
      child.on("close", (code) => {
        if (pending !== "") log.write(Buffer.from(`${stamp()}${pending}\n`, "latin1"));
        clearTimeout(timer);
        clearTimeout(stallTimer);
        clearInterval(cpuTimer);
        resolve(code);
      });
    });
    if (status === undefined) {
      if (events.some((e) => e.ev === "done")) status = "completed";
      else {
        status = "crashed";
        detail = `QEMU exited with ${exitCode} before the guest reported its results (see the log)`;
      }
    }
  } finally {
    server.close();
    rmSync(sockDir, { recursive: true, force: true });
    await new Promise<void>((resolve) => log.end(resolve));
  }
  const outcome: GuestOutcome = {
    status,
    events,
    wallMs: Date.now() - started,
    kernelWarnings,
    logPath: o.logPath,
  };
  if (detail !== undefined) outcome.detail = detail;
  if (bootMs !== undefined) outcome.bootMs = bootMs;
  if (cpuMs !== undefined) outcome.cpuMs = cpuMs;
  return outcome;
}
