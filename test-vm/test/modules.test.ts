import { describe, expect, it } from "vitest";
import { type ModuleIndex, moduleClosure, moduleName, readModinfo } from "../src/modules.js";

/** A minimal ELF64 object with a .modinfo section holding `strings`. */
function fakeModule(strings: string[]): Buffer {
  const modinfo = Buffer.from(`${strings.join("\0")}\0`);
  const shstrtab = Buffer.from("\0.modinfo\0.shstrtab\0");
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0);
  ehdr[4] = 2; // ELFCLASS64
  ehdr[5] = 1; // little endian
  const dataOff = 64;
  const strOff = dataOff + modinfo.length;
  const shoff = strOff + shstrtab.length;
  ehdr.writeBigUInt64LE(BigInt(shoff), 0x28);
  ehdr.writeUInt16LE(64, 0x3a);
  ehdr.writeUInt16LE(3, 0x3c);
  ehdr.writeUInt16LE(2, 0x3e);
  const sh = (name: number, offset: number, size: number) => {
    const b = Buffer.alloc(64);
    b.writeUInt32LE(name, 0);
    b.writeBigUInt64LE(BigInt(offset), 0x18);
    b.writeBigUInt64LE(BigInt(size), 0x20);
    return b;
  };
  return Buffer.concat([
    ehdr,
    modinfo,
    shstrtab,
    sh(0, 0, 0),
    sh(1, dataOff, modinfo.length),
    sh(10, strOff, shstrtab.length),
  ]);
}

describe("kernel modules", () => {
  it("names modules as the kernel does", () => {
    expect(moduleName("9pnet_virtio.ko.xz")).toBe("9pnet_virtio");
    expect(moduleName("virtio-pci.ko")).toBe("virtio_pci");
  });

  it("reads .modinfo keys", () => {
    const info = readModinfo(fakeModule(["license=GPL", "depends=9pnet,netfs", "name=9p"]));
    expect(info.get("depends")).toEqual(["9pnet,netfs"]);
    expect(info.get("name")).toEqual(["9p"]);
    expect(() => readModinfo(Buffer.alloc(64))).toThrow(/not a 64-bit ELF/);
  });

  it("orders dependencies first and drops built-in ones", () => {
    const mods: Record<string, string[]> = {
      "9p": ["depends=9pnet,netfs,fscache"],
      "9pnet": ["depends="],
      netfs: ["depends=fscache"],
      "9pnet_virtio": ["depends=9pnet,virtio_ring"],
    };
    const index: ModuleIndex = {
      files: new Map(Object.keys(mods).map((m) => [m, `/m/${m}.ko`])),
      builtin: new Set(["fscache", "virtio_ring"]),
    };
    const load = (path: string) => fakeModule(mods[path.slice(3, -3)]!);
    const order = moduleClosure(["9pnet_virtio", "9p"], index, load).map((m) => m.name);
    expect(order).toEqual(["9pnet", "9pnet_virtio", "netfs", "9p"]);
    expect(() => moduleClosure(["nope"], index, load)).toThrow(/nope not found/);
  });
});
