// Types for btf-tables.mjs (used by the table test).
export interface RawBtfType {
  kind: number;
  name: string;
  members?: { name: string; type: number; bitOffset: number; bitSize: number }[];
}
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
export function parseBtf(buf: Uint8Array): RawBtfType[];
export function readKernelBtf(path?: string): RawBtfType[];
export function extractTables(types: RawBtfType[]): ExtractedTables;
