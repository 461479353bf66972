// The C references: compiled with gcc from bench/c at run time (into
// bench/build/c, rebuilt when a source is newer), run as child processes that
// print one "sample <wall seconds> <items> <cpu seconds>" line per timed repetition.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { medianSample, type Sampler } from "./measure.js";
import { cBuildDir, cSourceDir } from "./paths.js";

export const C_PROGRAMS = [
  "mapfill",
  "iter_map_dump",
  "batch_dump",
  "nextkey_dump",
  "lookup_loop",
  "task_iter",
  "btf_parse",
  "spawner",
  "netns_sockets",
  "decode_records",
  "threads",
  "fd_holder",
  "tcp_pairs",
] as const;
export type CProgram = (typeof C_PROGRAMS)[number];

export interface CRun {
  samples: number[];
  itemCounts: number[];
  /** Process CPU seconds (user + system) of each sample. */
  cpuSamples: number[];
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function exec(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${err}`));
    });
  });
}

/** Compiles every C program whose binary is missing or older than its sources. */
export async function compileC(): Promise<void> {
  mkdirSync(cBuildDir, { recursive: true });
  const headers = readdirSync(cSourceDir).filter((f) => f.endsWith(".h"));
  const newestHeader = Math.max(0, ...headers.map((h) => mtime(`${cSourceDir}/${h}`)));
  for (const name of C_PROGRAMS) {
    const src = `${cSourceDir}/${name}.c`;
    const bin = cProgramPath(name);
    if (mtime(bin) > Math.max(mtime(src), newestHeader)) continue;
    await exec("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", bin, src]);
  }
}

/**
 * In a test-vm guest (no gcc): checks that the host compiled every C program
 * and none is older than its sources.
 */
export function checkCompiled(): void {
  const headers = readdirSync(cSourceDir).filter((f) => f.endsWith(".h"));
  const newestHeader = Math.max(0, ...headers.map((h) => mtime(`${cSourceDir}/${h}`)));
  const stale = C_PROGRAMS.filter(
    (name) =>
      !(mtime(cProgramPath(name)) > Math.max(mtime(`${cSourceDir}/${name}.c`), newestHeader)),
  );
  if (stale.length > 0) {
    throw new Error(
      `${stale.join(", ")} in ${cBuildDir} missing or older than their sources: pnpm bench --vm compiles them on the host before booting`,
    );
  }
}

export function cProgramPath(name: CProgram): string {
  return `${cBuildDir}/${name}`;
}

/**
 * Runs a C reference and collects its samples. `onSample` sees each one as it
 * arrives (for the progress line).
 */
export function runC(
  name: CProgram,
  args: readonly (string | number)[],
  onSample?: (index: number, seconds: number) => void,
): Promise<CRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cProgramPath(name), args.map(String), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const samples: number[] = [];
    const itemCounts: number[] = [];
    const cpuSamples: number[] = [];
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^sample (\S+) (\d+) (\S+)$/.exec(line);
      if (!m) return;
      const seconds = Number(m[1]);
      samples.push(seconds);
      itemCounts.push(Number(m[2]));
      cpuSamples.push(Number(m[3]));
      onSample?.(samples.length, seconds);
    });
    child.on("error", (e) => reject(new Error(`${name}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code !== 0) {
        const tail = err.trim().split("\n").slice(-3).join(" | ");
        reject(new Error(`${name} exited with ${code ?? signal}: ${tail}`));
      } else if (samples.length === 0) {
        reject(new Error(`${name} printed no samples`));
      } else {
        resolve({ samples, itemCounts, cpuSamples });
      }
    });
  });
}

/**
 * One sample per run of a C program: `args(n)` asks it for n timed
 * repetitions (after its own untimed warm-up), n = `repsPerSample` (1 unless
 * given), and the sample is their median. `bytes`, when given, is recorded
 * with each sample for throughput.
 */
export function cSampler(
  name: CProgram,
  args: (reps: number) => readonly (string | number)[],
  bytes?: number,
  repsPerSample = 1,
): () => Promise<Sampler> {
  return async () => ({
    async sample() {
      const r = await runC(name, args(repsPerSample));
      if (r.samples.length !== repsPerSample)
        throw new Error(`${name} printed ${r.samples.length} samples, not ${repsPerSample}`);
      // Several repetitions per sample (after the program's own warm-up): their median.
      return medianSample(
        r.samples.map((seconds, i) => ({
          seconds,
          cpuSeconds: r.cpuSamples[i]!,
          items: r.itemCounts[i]!,
          ...(bytes !== undefined ? { bytes } : {}),
        })),
      );
    },
  });
}
