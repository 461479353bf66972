// Iterator targets: the table is @ts-ebpf/syscall's (the lowest layer that
// needs it); this module gives it the names iter has always exported.
import {
  ITER_TARGETS,
  type IterParamKind,
  type IterTargetInfo,
  iterParamKind,
  iterTargetInfo,
} from "@ts-ebpf/spec/constants";

export type ParamKind = IterParamKind;
export type TargetInfo = IterTargetInfo;

export const TARGETS: readonly TargetInfo[] = ITER_TARGETS;

/** Facts about a target this package knows, or undefined for one it does not. */
export const targetInfo: (name: string) => TargetInfo | undefined = iterTargetInfo;

/** Parameter kind of a target; targets unknown to the table take none. */
export const paramKind: (name: string) => ParamKind = iterParamKind;

export const TARGET_NAME = /^[a-z0-9_]{1,64}$/;

export function checkTargetName(target: unknown): string {
  if (typeof target !== "string") {
    throw new TypeError(`iterator target must be a string such as "task", got ${typeof target}`);
  }
  if (!TARGET_NAME.test(target)) {
    throw new TypeError(
      `invalid iterator target ${JSON.stringify(target)}: expected a name such as "task" or "bpf_map_elem"`,
    );
  }
  return target;
}
