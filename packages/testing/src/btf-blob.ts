// A raw BTF blob (header + type section + string section) for tests that
// hand-build the few types a map or program needs.
export function btfBlob(types: Uint8Array, strings: Uint8Array): Uint8Array {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0); // magic
  hdr[2] = 1; // version
  hdr.writeUInt32LE(24, 4); // hdr_len
  hdr.writeUInt32LE(0, 8); // type_off
  hdr.writeUInt32LE(types.length, 12); // type_len
  hdr.writeUInt32LE(types.length, 16); // str_off
  hdr.writeUInt32LE(strings.length, 20); // str_len
  return new Uint8Array(Buffer.concat([hdr, types, strings]));
}
