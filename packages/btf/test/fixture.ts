import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Json, parseBpftoolJson } from "./bpftool-json.js";

const here = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** fixture.btf: the .BTF section of fixtures/fixture.c (make-fixture.sh). */
export const fixtureBytes = (): Uint8Array => new Uint8Array(readFileSync(here("fixture.btf")));
/** bpftool -j btf dump of the fixture. */
export const fixtureJson = (): Json[] =>
  parseBpftoolJson(readFileSync(here("fixture.json"), "utf8"));
/** bpftool btf dump ... format c of the fixture. */
export const fixtureHeader = (): string => readFileSync(here("fixture.h"), "utf8");
