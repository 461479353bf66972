// Queries: fields of any iterator target's objects by BTF path, typed and
// filtered in the kernel (see query.ts).
export {
  closeProcessArgs,
  hasCopyFromUserTask,
  type ProcessArgs,
  type ProcessArgsOptions,
  processArgs,
} from "./argv.js";
export { QueryError } from "./errors.js";
export {
  closeExePaths,
  decodeExePaths,
  type ExePath,
  exePathSpec,
  exePaths,
  MAX_EXE_DEPTH,
} from "./exe.js";
export {
  contextMembers,
  DEFAULT_STRING_LENGTH,
  type Leaf,
  nearestNames,
  resolvePath,
  type ValueType,
} from "./paths.js";
export { type Process, type ProcessesOptions, processes, stateLetter } from "./processes.js";
export {
  type CompiledQuery,
  closeQueries,
  compileQuery,
  type QueryOptions,
  type QueryRow,
  type QuerySelect,
  type QueryValue,
  query,
  querySync,
} from "./query.js";
export { type CompareOp, formatWhere, type Operand, type Predicate, parseWhere } from "./where.js";
