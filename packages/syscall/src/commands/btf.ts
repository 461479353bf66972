// BTF_LOAD.

import { BpfCmd } from "@ts-ebpf/spec/constants";
import { Attr } from "../attr.js";
import { Errno } from "../errno.js";
import { BpfError, VerifierError } from "../errors.js";
import { checkNewFd } from "../fds.js";
import * as v from "../validate.js";
import { MIN_LOG_SIZE } from "./prog.js";

export interface BtfLoadOptions {
  logLevel?: number;
  /** First log size (at least 128); grown on ENOSPC. Default 64 KiB. */
  logSize?: number;
}

/** BPF_BTF_LOAD → fd of a BTF object. Rejections carry the kernel's BTF log. */
export function btfLoad(
  btf: Uint8Array,
  options: BtfLoadOptions = {},
): { fd: number; log: string } {
  v.bytes("btf", btf);
  if (typeof options !== "object" || options === null)
    throw new TypeError("btfLoad options must be an object");
  let logLevel = v.u32("logLevel", options.logLevel ?? 0);
  let logSize = Math.max(MIN_LOG_SIZE, v.positiveU32("logSize", options.logSize ?? 64 * 1024));
  // Sized after the options were read: nothing runs between here and the call.
  const btfSize = v.byteLength(btf);
  if (btfSize === 0) throw new RangeError("btf must not be empty");
  for (;;) {
    const log = logLevel > 0 ? new Uint8Array(logSize) : null;
    const attr = new Attr("btf_load")
      .ptr("btf", btf, btfSize)
      .u32("btf_size", btfSize)
      .ptr("btf_log_buf", log, logSize)
      .u32("btf_log_size", log ? logSize : 0)
      .u32("btf_log_level", log ? logLevel : 0);
    if (log) attr.out("btf_log_true_size");
    const r = attr.call(BpfCmd.BTF_LOAD);
    const end = log ? log.indexOf(0) : -1;
    const text = log ? Buffer.from(log.subarray(0, end < 0 ? log.length : end)).toString() : "";
    if (r >= 0) return { fd: checkNewFd(BpfCmd.BTF_LOAD, r), log: text };
    if (-r === Errno.ENOSPC && log && logSize < 0x3fffffff) {
      logSize = Math.min(0x3fffffff, Math.max(logSize * 4, attr.readU32("btf_log_true_size") + 1));
      continue;
    }
    // Before 6.4 a rejected BTF with a full log is EINVAL, not ENOSPC: grow
    // the log so the error line at its end is not cut off.
    if (log && text.length >= logSize - 1 && logSize < 0x3fffffff) {
      logSize = Math.min(0x3fffffff, logSize * 4);
      continue;
    }
    if (-r === Errno.EINVAL && !log) {
      logLevel = 1;
      continue;
    }
    if (text.trim()) throw new VerifierError(BpfCmd.BTF_LOAD, -r, text);
    throw new BpfError(BpfCmd.BTF_LOAD, -r);
  }
}
