// Where the suite finds its C sources and writes its outputs, relative to the
// package (the same from src/ under vitest and from dist/ when run).
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

export const benchRoot = root;
export const cSourceDir = `${root}c`;
export const cBuildDir = `${root}build/c`;
export const resultsDir = `${root}results`;
