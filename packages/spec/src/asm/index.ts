// The instruction model (see instruction.ts): opcodes, instructions and their
// references, encoding and decoding.
export * from "./errors.js";
export * from "./instruction.js";
export * from "./opcodes.js";
export * from "./references.js";
