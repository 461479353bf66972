// ProgramLoadError is a kernel refusal, not a malformed object: a BpfError
// carrying the refusal's command and errno, never an ElfError.
import { BpfCmd, BpfError, Errno } from "@ts-ebpf/syscall";
import { describe, expect, it } from "vitest";
import { ElfError, ProgramLoadError } from "../src/index.js";

describe("ProgramLoadError", () => {
  const refusal = new BpfError(BpfCmd.PROG_LOAD, Errno.EPERM, { hint: "a policy" });
  const err = new ProgramLoadError("dump", "iter/bpf_map_elem", `refused: ${refusal.message}`, {
    cause: refusal,
  });

  it("is a BpfError with the refusal's command, errno and code, and not an ElfError", () => {
    expect(err).toBeInstanceOf(BpfError);
    expect(err).not.toBeInstanceOf(ElfError);
    expect(err.name).toBe("ProgramLoadError");
    expect(err).toMatchObject({ command: "PROG_LOAD", errno: Errno.EPERM, code: "EPERM" });
    expect(err.hint).toBe("a policy");
  });

  it("names the program and section, and keeps the refusal as its cause", () => {
    expect(err.program).toBe("dump");
    expect(err.section).toBe("iter/bpf_map_elem");
    expect(err.message).toBe(
      "program dump (section iter/bpf_map_elem): refused: BPF_PROG_LOAD: EPERM (operation not permitted): a policy",
    );
    expect(err.cause).toBe(refusal);
  });

  it("without a BpfError cause it still is a PROG_LOAD BpfError", () => {
    const bare = new ProgramLoadError("p", "s", "why");
    expect(bare).toBeInstanceOf(BpfError);
    expect(bare.command).toBe("PROG_LOAD");
    expect(bare.message).toBe("program p (section s): why");
    expect("cause" in bare).toBe(false);
  });
});
