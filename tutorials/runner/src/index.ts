// The notebook runner of the ts-ebpf book, and the shapes the site generator reads.
export {
  type CellAttributes,
  parseCellAttributes,
  splitInfoString,
} from "./attributes.js";
export { describeError, formatValue } from "./format.js";
export { kernelUnavailableReason } from "./kernel.js";
export { describeMachine, detectVirtualization, type Machine, thisMachine } from "./machine.js";
export {
  type Block,
  type Chapter,
  type CodeCell,
  cellHash,
  type LiveBlock,
  NotebookSyntaxError,
  type Part,
  type ProseBlock,
  parsePart,
  readPart,
} from "./markdown.js";
export {
  cellMachine,
  OUTPUTS_FILE,
  type OutputsFile,
  outputsPath,
  type RecordedCell,
  type RecordedChapter,
  readOutputs,
  writeOutputs,
} from "./outputs.js";
export type { CellResult } from "./protocol.js";
export {
  type CellOutcome,
  type ChapterOutcome,
  describeDifference,
  judgeCell,
  type RunOptions,
  type RunSummary,
  runChapter,
  runParts,
  shownText,
} from "./run.js";
export { CellCompileError, type CompiledCell, compileCell } from "./transform.js";
