// __kconfig values without a kernel: the running kernel's config is read from
// /proc/config.gz or /boot/config-$(uname -r), as libbpf does; where neither
// exists, a strong CONFIG_ extern is an error naming both places, a weak one
// reads as unset (zero), and options.kconfig supplies a value without either.
import { describe, expect, it } from "vitest";
import { ElfError } from "../src/errors.js";
import { type ExternSpec, kconfigContents } from "../src/externs.js";

const hz = (weak: boolean): Record<string, ExternSpec> => ({
  CONFIG_HZ: {
    kind: "kconfig",
    name: "CONFIG_HZ",
    weak,
    offset: 0,
    size: 4,
    type: "int",
    signed: true,
  },
});
const noConfig = () => undefined;
const noTypes = () => undefined;

describe("__kconfig externs where the kernel's config is not readable", () => {
  it("a strong CONFIG_ extern is an ElfError naming /proc/config.gz and /boot/config-<release>", () => {
    const contents = () =>
      kconfigContents(hz(false), 4, undefined, noConfig, noTypes, "6.1.0-50-amd64");
    expect(contents).toThrow(ElfError);
    expect(contents).toThrow(
      /^ELF: __kconfig extern CONFIG_HZ: .*neither \/proc\/config\.gz nor \/boot\/config-6\.1\.0-50-amd64 exists.*options\.kconfig/,
    );
  });

  it("a weak one reads as unset (zero)", () => {
    const out = kconfigContents(hz(true), 4, undefined, noConfig, noTypes, "6.1.0-50-amd64");
    expect([...out]).toEqual([0, 0, 0, 0]);
  });

  it("options.kconfig gives the value without reading the config", () => {
    const out = kconfigContents(
      hz(false),
      4,
      { CONFIG_HZ: 250 },
      noConfig,
      noTypes,
      "6.1.0-50-amd64",
    );
    expect(new DataView(out.buffer).getInt32(0, true)).toBe(250);
  });

  it("the config's value is used where it is readable", () => {
    const out = kconfigContents(
      hz(false),
      4,
      undefined,
      () => ({ CONFIG_HZ: "1000" }),
      noTypes,
      "x",
    );
    expect(new DataView(out.buffer).getInt32(0, true)).toBe(1000);
  });
});
