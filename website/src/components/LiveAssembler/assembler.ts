// The live cell's computation, by @ts-ebpf/dsl itself: assembler text → instructions →
// bytes → disassembly. Kept apart from the React component so it can be unit-tested.
import * as dsl from "@ts-ebpf/dsl";

export interface LiveResult {
  /** One line per 8-byte slot: slot number and the slot's bytes in hex. */
  hex: string[];
  /** The disassembly of the encoded bytes. */
  disassembly: string;
  byteLength: number;
}

type Api = {
  parse?: (text: string) => readonly unknown[];
  assemble?: (items: readonly unknown[]) => { bytes: Uint8Array };
  disassemble?: (bytes: Uint8Array) => unknown;
};

const api = dsl as unknown as Api;

/** Missing pieces of @ts-ebpf/dsl, if the live cell cannot work yet. */
export function liveUnavailable(): string | undefined {
  const missing = (["parse", "assemble", "disassemble"] as const).filter(
    (name) => typeof api[name] !== "function",
  );
  return missing.length > 0 ? `@ts-ebpf/dsl does not export ${missing.join(", ")} yet` : undefined;
}

export function hexSlots(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const slot = Array.from(bytes.subarray(at, at + 8), (b) => b.toString(16).padStart(2, "0"));
    lines.push(`${String(at / 8).padStart(3, " ")}: ${slot.join(" ")}`);
  }
  return lines;
}

function disassemblyText(listing: unknown): string {
  if (typeof listing === "string") return listing;
  if (Array.isArray(listing)) return listing.map((line) => String(line)).join("\n");
  return String(listing);
}

/** Assembles `text`; throws the DSL's own error (with its message) on bad input. */
export function assembleLive(text: string): LiveResult {
  const unavailable = liveUnavailable();
  if (unavailable) throw new Error(unavailable);
  const items = api.parse!(text);
  const { bytes } = api.assemble!(items);
  return {
    hex: hexSlots(bytes),
    disassembly: disassemblyText(api.disassemble!(bytes)),
    byteLength: bytes.length,
  };
}
