import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const FIXTURE_NAMES = [
  "task",
  "task_file",
  "task_map",
  "map_elem",
  "tcp",
  "core_kinds",
  "bad",
  "externs",
  "ksym_var",
  "module_kfunc",
] as const;

export function fixturePath(name: (typeof FIXTURE_NAMES)[number]): string {
  return join(FIXTURES, `${name}.bpf.o`);
}

export function fixture(name: (typeof FIXTURE_NAMES)[number]): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}
