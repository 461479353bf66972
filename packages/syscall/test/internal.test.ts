// @ts-ebpf/syscall/internal: the helpers loadProgram and @ts-ebpf/elf's
// loadCollection share (one owner for the kernel's object-name rule and the
// spec-map options).
import { describe, expect, it } from "vitest";
import { kernelObjectName, specMapCreateOptions } from "../src/internal.js";
import { objName } from "../src/validate.js";

describe("kernelObjectName", () => {
  it("keeps [A-Za-z0-9_.], turns every other character into _, and cuts to 15 bytes", () => {
    expect(kernelObjectName(".rodata")).toBe(".rodata");
    expect(kernelObjectName("my-map/é")).toBe("my_map__");
    expect(kernelObjectName("a_very_long_map_name_indeed")).toBe("a_very_long_map");
  });

  it("gives names MAP_CREATE's own check accepts", () => {
    for (const name of ["", "x-y", "ééééééééééééééééé", "a.b.c/d e\u0000f", "0123456789abcdefgh"]) {
      expect(() => objName("name", kernelObjectName(name))).not.toThrow();
    }
  });
});

describe("specMapCreateOptions", () => {
  it("takes the spec's sizes and flags (0 when absent) and the kernel form of the name", () => {
    expect(
      specMapCreateOptions("my-map", {
        name: "ignored",
        type: 2,
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
      }),
    ).toEqual({ type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, name: "my_map" });
  });
});
