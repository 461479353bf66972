import { describe, expect, it } from "vitest";
import { parseBtf } from "../src/index.js";
import { cBlocks, normalizeC } from "./bpftool-json.js";
import { BtfBuilder } from "./btf-builder.js";
import { fixtureBytes, fixtureHeader } from "./fixture.js";

describe("formatC on the clang fixture", () => {
  const btf = parseBtf(fixtureBytes());
  // fixture.h was made by bpftool v7.1 (libbpf 1.1): no enum mode() attributes.
  const blocks = cBlocks(fixtureHeader());

  it("matches every struct, union, enum and typedef bpftool printed", () => {
    let compared = 0;
    for (const [key, [text]] of blocks) {
      const [kind, name] = key.split(" ") as ["struct" | "union" | "enum" | "typedef", string];
      const t = btf.findType(name, kind);
      expect(t, key).toBeDefined();
      expect(normalizeC(btf.formatC(t!.id, { enumSizeAttributes: false }))).toBe(normalizeC(text!));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(15);
  });

  it("prints tabs, bitfields and padding exactly", () => {
    expect(btf.formatC("bits")).toBe(
      [
        "struct bits {",
        "\tunsigned int a: 3;",
        "\tunsigned int b: 5;",
        "\tint c: 7;",
        "\tu64 d: 40;",
        "\tu8 e;",
        "\tu64 f;",
        "};",
      ].join("\n"),
    );
    expect(btf.formatC("packed_s")).toBe(
      "struct packed_s {\n\tchar c;\n\tint i;\n} __attribute__((packed));",
    );
  });

  it("adds enum size attributes like libbpf >= 1.2", () => {
    expect(btf.formatC("enum small")).toMatch(/} __attribute__\(\(mode\(byte\)\)\);$/);
    expect(btf.formatC("enum wide")).toMatch(/} __attribute__\(\(mode\(word\)\)\);$/);
    expect(btf.formatC("enum color")).toMatch(/};$/);
  });

  it("spells type names as C declarations", () => {
    const rec = btf.findType("rec", "struct")!;
    const m = (n: string) => rec.members.find((x) => x.name === n)!.type;
    expect(btf.typeName(m("next"))).toBe("struct rec *");
    expect(btf.typeName(m("cb"))).toBe("void (*)(int, const char *)");
    expect(btf.typeName(m("arr"))).toBe("int[2][3]");
    expect(btf.typeName(m("comm"))).toBe("char[16]");
    expect(btf.typeName(m("opaque"))).toBe("struct fwd_only *");
    expect(btf.typeName("vararg_fn")).toBe("vararg_fn");
    expect(btf.formatC("vararg_fn")).toBe("typedef int (*vararg_fn)(int, ...);");
    expect(btf.formatC("bpf_iter_fake")).toBe("int bpf_iter_fake(struct bpf_iter__fake *ctx);");
    expect(btf.formatC("counter")).toBe("int counter;");
    expect(btf.formatC("u32")).toBe("typedef unsigned int u32;");
  });
});

describe("formatC on built BTF", () => {
  it("prints enum64 values with ULL/LL and signed enums", () => {
    const b = new BtfBuilder();
    b.enum64("big", 8, [
      ["B0", 1n],
      ["B1", 0xffffffff00000000n],
    ]);
    b.enum64("sbig", 8, [["N", -5n]], true);
    b.enum("neg", 4, [["M", -1]], true);
    b.enum64("small64", 8, [["ONE", 1n]]);
    const btf = parseBtf(b.build());
    expect(btf.formatC("big")).toBe(
      "enum big {\n\tB0 = 1ULL,\n\tB1 = 18446744069414584320ULL,\n};",
    );
    // -5 has upper bits set, so C makes the enum 64-bit without mode(word).
    expect(btf.formatC("sbig")).toBe("enum sbig {\n\tN = -5LL,\n};");
    expect(btf.formatC("small64")).toBe(
      "enum small64 {\n\tONE = 1ULL,\n} __attribute__((mode(word)));",
    );
    expect(btf.formatC("neg")).toBe("enum neg {\n\tM = -1,\n};");
  });

  it("fails with BtfError instead of recursing forever on pointer loops", () => {
    const b = new BtfBuilder();
    // id 1: PTR -> 2, id 2: CONST -> 1
    b.ref("ptr", 2);
    b.ref("const", 1);
    b.composite("struct", "s", 8, [{ name: "p", type: 1, bitOffset: 0 }]);
    const btf = parseBtf(b.build());
    expect(() => btf.formatC("s")).toThrow(/loop/);
  });
});
