// Types for btf-tables.mjs (used by the table test).
import type { Btf } from "@ts-ebpf/btf";

export interface ExtractedField {
  offset: number;
  size: number;
  bitOffset?: number;
  bitSize?: number;
}
export interface ExtractedStruct {
  cName?: string;
  size: number;
  fields: Record<string, ExtractedField>;
}
export interface ExtractedEnum {
  cName: string;
  values: { name: string; cName: string; value: bigint }[];
}
export interface ExtractedTables {
  enums: Record<string, ExtractedEnum>;
  attr: Record<string, ExtractedStruct>;
  info: Record<string, ExtractedStruct>;
}
export function extractTables(btf: Btf): ExtractedTables;
