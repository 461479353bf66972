// The reviewed table: for every exported callable, the kinds of its
// arguments (and receiver). The generators make plausible values of each kind
// and hostile values of every other; a callable missing from this table fails
// the suite. `skip` entries are the reviewed exceptions, each with its reason.
//
// Kinds whose names start with "safe:" are never mixed with arbitrary
// numbers: they size kernel allocations or loop counts, and a random 2**31
// there asks the kernel for 16 GiB (a denial of service against the host,
// not a bug the suite looks for).

import type { Kind } from "./arbitraries.js";

export interface Sig {
  args: Kind[];
  /** Receiver of a method or getter; for object functions, the object itself by default. */
  this?: Kind;
  /**
   * What the result holds that the caller owns and must close: "fd" (a raw fd
   * number) or "fdField" (an object with an `fd` number). Handles (anything
   * with close()) are always closed.
   */
  returns?: "fd" | "fdField";
  /** Error types this callable documents beyond the common ones, with the reason. */
  allow?: { types: string[]; why: string };
  /** Fraction of the batch's runs (slow calls: kernel BTF parsing, program loads). */
  runs?: number;
  /** A generator of whole argument lists of the right shape and near-right sizes (see Arbitraries.coupled), used for half the runs. */
  coupled?: string;
  /** Every other run also starts a second call on the same receiver while the first is in flight. */
  overlap?: boolean;
  /** Calls module caches to reset after each call (closeBuiltins...). */
  resetCaches?: boolean;
}

export type Entry = Sig | { skip: string };

/**
 * The codecs of @ts-ebpf/spec (scalars, bytes(), char(), isCodec) as a package
 * exports them under `prefix`: spec itself, syscall's `codecs`, btf.
 */
function codecSignatures(prefix: string, withIsCodec = true): Record<string, Entry> {
  const scalars = ["f32", "f64", "i8", "i16", "i32", "i64", "ptr", "u8", "u16", "u32", "u64"];
  return {
    [`${prefix}bytes`]: { args: ["size"] },
    [`${prefix}char`]: { args: ["size"] },
    ...(withIsCodec ? { [`${prefix}isCodec`]: { args: ["any"] } } : {}),
    ...Object.fromEntries(
      scalars.flatMap((t) => [
        [`${prefix}${t}.decode`, { args: ["bytes", "int"] }],
        [`${prefix}${t}.encode`, { args: ["any", "bytes", "int"] }],
        [`${prefix}${t}.decodeAt`, { args: ["view", "int"] }],
        [`${prefix}${t}.encodeAt`, { args: ["any", "view", "int"] }],
      ]),
    ),
  };
}

const reg = "reg";
const regOrImm: Kind = { oneOf: ["reg", "imm"] };

const progLoadOptions: Kind = {
  obj: {
    type: "progType",
    instructions: "insnBytes",
    license: { oneOf: ["str", { lit: { s: "GPL" } }] },
    name: "name",
    expectedAttachType: "attachType",
    attachBtfId: "typeRef",
    attachBtfObjFd: "fd:btf",
    attachTarget: "name",
    attachProgFd: "fd:prog",
    flags: "flags",
    progBtfFd: "fd:btf",
    funcInfo: "bytes",
    funcInfoRecSize: "int",
    lineInfo: "bytes",
    lineInfoRecSize: "int",
    kernVersion: "u32",
    logLevel: { safe: "logLevel" },
    logSize: { safe: "logSize" },
  },
};

const mapCreateOptions: Kind = {
  obj: {
    type: { safe: "mapType" },
    keySize: { safe: "keySize" },
    valueSize: { safe: "valueSize" },
    maxEntries: { safe: "maxEntries" },
    flags: { safe: "mapFlags" },
    name: "name",
    innerMapFd: "fd:map",
    numaNode: { safe: "numaNode" },
    mapIfindex: { safe: "ifindex" },
    btfFd: "fd:btf",
    btfKeyTypeId: "int",
    btfValueTypeId: "int",
    btfVmlinuxValueTypeId: "int",
    mapExtra: { oneOf: ["bigint", "int"] },
    key: "codec",
    value: "codec",
  },
};

const batchOptions: Kind = {
  obj: {
    mapFd: "fd:map",
    keys: "batch",
    values: "batch",
    count: "count",
    elemFlags: "flags",
    flags: "flags",
    inBatch: { oneOf: ["key", { lit: { u: "null" } }] },
    outBatch: "key",
  },
};

const readerOptions = "readerOptions";
const iterLinkParams: Kind = {
  obj: {
    mapFd: "fd:map",
    cgroupFd: "fd",
    cgroupId: { oneOf: ["bigint", "int"] },
    order: "int",
    tid: "pid",
    pid: "pid",
    pidFd: "fd",
  },
};
const taskFilter: Kind = {
  obj: {
    tid: "pid",
    pid: "pid",
    pidFd: "fd",
    pidns: { oneOf: ["pid", "path"] },
    cgroupPath: "bool",
  },
};
/** A network namespace: a pid, a path, { fd } or "all". */
const netnsSelector: Kind = {
  oneOf: ["pid", "path", { obj: { fd: "fd" } }, { lit: { s: "all" } }],
};
const netnsOptions: Kind = {
  oneOf: [readerOptions, { obj: { netns: netnsSelector, onSkipped: "fn" } }],
};
const queryOptions: Kind = {
  obj: {
    select: { oneOf: [{ arrayOf: "str", max: 4 }, { obj: { a: "str", b: "str" } }] },
    where: "str",
    stringLength: "int",
    netns: netnsSelector,
    onSkipped: "fn",
  },
};
const loadCollectionOptions: Kind = {
  obj: {
    kernelTypes: "btf",
    logLevel: { safe: "logLevel" },
    maps: { obj: { counts: "handle:map", m: "handle:map" } },
    modules: "fn",
  },
};

const errorCtor = (n: number): Sig => ({ args: Array.from({ length: n }, () => "any") });

const alu2 = [
  "add",
  "add32",
  "and",
  "and32",
  "arsh",
  "arsh32",
  "div",
  "div32",
  "lsh",
  "lsh32",
  "mod",
  "mod32",
  "mov",
  "mov32",
  "mul",
  "mul32",
  "or",
  "or32",
  "rsh",
  "rsh32",
  "sdiv",
  "sdiv32",
  "smod",
  "smod32",
  "sub",
  "sub32",
  "xor",
  "xor32",
];
const jumps = [
  "jeq",
  "jeq32",
  "jge",
  "jge32",
  "jgt",
  "jgt32",
  "jle",
  "jle32",
  "jlt",
  "jlt32",
  "jne",
  "jne32",
  "jset",
  "jset32",
  "jsge",
  "jsge32",
  "jsgt",
  "jsgt32",
  "jsle",
  "jsle32",
  "jslt",
  "jslt32",
];

// Disposal methods appear as "[nodejs.dispose]" on node 20 (its polyfilled
// Symbol.dispose) and "[Symbol.dispose]" on newer node: both are listed.
export const SIGNATURES: Record<string, Entry> = {
  // ---------------------------------------------------------------- syscall
  "syscall:bpffsMountPoints": { args: [] },
  "syscall:btfInfo": { args: ["fd:btf", { obj: { withData: "bool" } }] },
  "syscall:btfLoad": {
    args: ["btfBytes", { obj: { logLevel: { safe: "logLevel" }, logSize: { safe: "logSize" } } }],
    returns: "fdField",
  },
  "syscall:effectiveCapabilities": { args: ["bigint"] },
  "syscall:encodeIterLinkInfo": { args: [iterLinkParams] },
  "syscall:errnoName": { args: ["int"] },
  "syscall:expectKind": { args: ["fd", "objKind", "str"] },
  "syscall:failingInstruction": { args: ["str"] },
  "syscall:fdKind": { args: ["fd"] },
  "syscall:dupAbove2": { args: ["fd"], returns: "fd" },
  "syscall:sameOpenFile": { args: ["fd", "fd"] },
  "syscall:getFdById": { args: ["objKind", "id", "flags"], returns: "fd" },
  "syscall:getNextId": { args: ["objKind", "id"] },
  "syscall:ids": { args: ["objKind"] },
  "syscall:iterCreate": { args: ["fd:link", "flags"], returns: "fd" },
  "syscall:iterContextStruct": { args: ["target"] },
  "syscall:iterFuncName": { args: ["target"] },
  "syscall:iterParamKind": { args: ["target"] },
  "syscall:iterTargetInfo": { args: ["target"] },
  "syscall:iterTargetOfFunc": { args: ["str"] },
  ...codecSignatures("spec:"),
  "spec:completeCodec": { args: ["str", "codec"] },
  "spec:decoderAt": { args: ["decoder"] },
  "spec:defineField": {
    args: [
      { obj: { describe: "str", size: "size", align: "int", decodeAt: "fn", encodeAt: "fn" } },
      "any",
    ],
  },
  "spec:iterContextStruct": { args: ["target"] },
  "spec:iterFuncName": { args: ["target"] },
  "spec:iterParamKind": { args: ["target"] },
  "spec:iterTargetInfo": { args: ["target"] },
  "spec:iterTargetOfFunc": { args: ["str"] },
  // spec's instruction model (dsl re-exports the same functions).
  "spec:InstructionError": errorCtor(3),
  "spec:classify": { args: ["insn"] },
  "spec:decode": { args: ["insnBytes"] },
  "spec:encode": { args: ["items"] },
  "spec:encodeInto": { args: ["view", "int", "insn"] },
  "spec:encodeProgram": { args: ["items", { obj: { mapFd: "fn" } }] },
  "spec:formatRaw": { args: ["insn"] },
  "spec:isInt": { args: ["int", "int"] },
  "spec:opClass": { args: ["int"] },
  "spec:opCode": { args: ["int"] },
  "spec:opMode": { args: ["int"] },
  "spec:opSize": { args: ["int"] },
  "spec:opSource": { args: ["int"] },
  "spec:referenceProblem": { args: ["any", "insn"] },
  "spec:slotsOf": { args: ["insn"] },
  "spec:takesMap": { args: ["any"] },
  "spec:takesKsym": { args: ["any"] },
  "spec:takesTarget": { args: ["any"] },
  "spec:withOpSize": { args: ["int", "int"] },
  "spec:mapReferences": { args: ["items"] },
  "spec:checkProgram": { args: ["items"] },
  "spec:aluOff": { args: ["str"] },
  "spec:aluOpcode": { args: ["bool", "str", "bool"] },
  "spec:jmpOpcode": { args: ["bool", "str", "bool"] },
  "spec:packetLoadOpcode": { args: ["sizeName", "bool"] },
  "syscall:kernelVersion": { args: ["str"] },
  "syscall:linkCreate": {
    args: [
      {
        obj: {
          progFd: "fd:prog",
          attachType: "attachType",
          targetFd: "fd",
          flags: "flags",
          iterInfo: { oneOf: ["bytes", "iterInfo"] },
          iterInfoLen: "size",
          targetBtfId: "int",
        },
      },
    ],
    returns: "fd",
  },
  // Detaching: only links made for the call.
  "syscall:linkDetach": { args: [{ oneOf: ["own:link:new", "fd"] }] },
  "syscall:linkInfo": { args: ["fd:link"] },
  "syscall:linkUpdate": {
    args: [
      { oneOf: ["own:link:new", "fd"] },
      "fd:prog",
      { obj: { oldProgFd: "fd:prog", flags: "flags" } },
    ],
  },
  "syscall:loadProgram": {
    args: [
      "spec",
      {
        obj: {
          maps: { obj: { m: "handle:map", nope: "any" } },
          logLevel: { safe: "logLevel" },
          logSize: { safe: "logSize" },
          btf: "handle",
        },
      },
    ],
    runs: 0.5,
  },
  "syscall:mapCreate": { args: [mapCreateOptions], returns: "fd" },
  "syscall:mapDeleteBatch": { args: [batchOptions], coupled: "deleteBatchRaw" },
  "syscall:mapDeleteElem": { args: ["fd:map", "key", "flags"], coupled: "delete" },
  // Freezing: only maps made for the call (a frozen pool map would refuse the writes under test).
  "syscall:mapFreeze": { args: [{ oneOf: ["own:map:new", "fd"] }] },
  "syscall:mapGetNextKey": {
    args: ["fd:map", { oneOf: ["key", { lit: { u: "null" } }] }, "key"],
    coupled: "nextKey",
  },
  "syscall:mapInfo": { args: ["fd:map"] },
  "syscall:mapLookupAndDeleteBatch": { args: [batchOptions], coupled: "batch" },
  "syscall:mapLookupBatch": { args: [batchOptions], coupled: "batch" },
  "syscall:mapLookupElem": { args: ["fd:map", "key", "value", "flags"], coupled: "lookup" },
  "syscall:mapUpdateBatch": { args: [batchOptions], coupled: "batch" },
  "syscall:mapUpdateElem": { args: ["fd:map", "key", "value", "flags"], coupled: "update" },
  "syscall:missingBpfCapabilities": { args: ["bigint"] },
  "syscall:objGet": { args: ["path", "flags"], returns: "fd" },
  "syscall:objGetInfoByFd": {
    args: ["fd", "info", { arrayOf: { tuple: ["infoOffset", "bytes"] }, max: 3 }],
    coupled: "infoPointers",
  },
  "syscall:objPin": { args: ["fd", "pinPath", "flags"] },
  "syscall:objectKind": { args: ["fd"] },
  "syscall:openIteratorFd": { args: [{ oneOf: ["handle:link", "fd:link"] }], returns: "fd" },
  "syscall:openIteratorFdInNetns": {
    args: [{ oneOf: ["handle:link", "fd:link"] }, "fd"],
    returns: "fd",
  },
  "syscall:openIteratorFdsInNetns": {
    skip: "returns an array of fds (the runner closes one fd or fd field); openIteratorFdInNetns takes the same arguments one namespace at a time",
  },
  "syscall:possibleCpus": { args: [] },
  "syscall:progInfo": { args: ["fd:prog"] },
  "syscall:progLoad": { args: [progLoadOptions], returns: "fdField", runs: 0.5 },
  "syscall:progTestRun": {
    args: [
      {
        obj: {
          progFd: "fd:prog",
          dataIn: "value",
          dataOut: "value",
          ctxIn: "bytes",
          ctxOut: "bytes",
          repeat: { safe: "repeat" },
          flags: "flags",
          cpu: "int",
          batchSize: "int",
        },
      },
    ],
    coupled: "testRun",
  },
  "syscall:refusedByPolicy": { args: ["any"] },
  "syscall:system": { args: [] },
  // syscall's codecs are spec's (one codec): the same functions under codecs.*.
  ...codecSignatures("syscall:codecs."),

  "syscall:BatchError": errorCtor(3),
  "syscall:BpfError": errorCtor(3),
  "syscall:VerifierError": errorCtor(4),
  "syscall:FdError": errorCtor(3),
  "syscall:NamespaceError": errorCtor(3),
  "syscall:ObjectKindError": errorCtor(4),
  // Handle constructors are protected in TypeScript, callable from JavaScript;
  // they take ownership of the fd they are given.
  "syscall:FdHandle": { args: [{ safe: "ownFd" }, "str"] },
  "syscall:BpfMap": {
    args: [
      { safe: "ownFd" },
      {
        obj: {
          type: "int",
          keySize: "size",
          valueSize: "size",
          maxEntries: "count",
          flags: "flags",
          name: "name",
        },
      },
      { obj: { key: "codec", value: "codec" } },
    ],
  },
  "syscall:BpfMap.create": { args: [mapCreateOptions] },
  "syscall:BpfMap.fromFd": { args: [{ safe: "ownFd" }, { obj: { key: "codec", value: "codec" } }] },
  "syscall:BpfMap.fromPinned": {
    args: ["path", { obj: { key: "codec", value: "codec" } }, { obj: { fileFlags: "flags" } }],
  },
  "syscall:BpfMap.fromId": { args: ["id", { obj: { key: "codec", value: "codec" } }] },
  "syscall:BpfMap#info": { args: [], this: "fresh:map" },
  "syscall:BpfMap#get": { args: ["key", "flags"], this: "fresh:map", coupled: "get" },
  "syscall:BpfMap#has": { args: ["key"], this: "fresh:map", coupled: "has" },
  "syscall:BpfMap#set": { args: ["key", "value", "flags"], this: "fresh:map", coupled: "set" },
  "syscall:BpfMap#delete": { args: ["key"], this: "fresh:map", coupled: "delete#" },
  "syscall:BpfMap#keys": { args: [], this: "fresh:map" },
  "syscall:BpfMap#entries": { args: [], this: "fresh:map" },
  "syscall:BpfMap#values": { args: [], this: "fresh:map" },
  "syscall:BpfMap#[Symbol.iterator]": { args: [], this: "fresh:map" },
  "syscall:BpfMap#entriesBatch": { args: ["count"], this: "fresh:map" },
  "syscall:BpfMap#drainBatch": { args: ["count"], this: "fresh:map" },
  "syscall:BpfMap#updateBatch": {
    args: [{ arrayOf: { tuple: ["key", "value"] }, max: 5 }, "flags"],
    this: "fresh:map",
    coupled: "updateBatch",
  },
  "syscall:BpfMap#deleteBatch": {
    args: [{ arrayOf: "key", max: 5 }],
    this: "fresh:map",
    coupled: "deleteBatch",
  },
  "syscall:BpfMap#freeze": { args: [], this: "fresh:map" },
  "syscall:FdHandle#fd": { args: [], this: "fresh:fdHandle" },
  "syscall:FdHandle#closed": { args: [], this: "fresh:fdHandle" },
  "syscall:FdHandle#pin": { args: ["pinPath"], this: "fresh:fdHandle" },
  "syscall:FdHandle#close": { args: [], this: "fresh:fdHandle" },
  "syscall:FdHandle#[nodejs.dispose]": { args: [], this: "fresh:fdHandle" },
  "syscall:FdHandle#[Symbol.dispose]": { args: [], this: "fresh:fdHandle" },
  "syscall:Link": { args: [{ safe: "ownFd" }] },
  "syscall:Link.fromFd": { args: [{ safe: "ownFd" }] },
  "syscall:Link.fromPinned": { args: ["path"] },
  "syscall:Link.fromId": { args: ["id"] },
  "syscall:Link#info": { args: [], this: "fresh:link" },
  "syscall:Link#update": {
    args: [{ oneOf: ["handle:prog", "fd:prog"] }, { oneOf: ["handle:prog", "fd:prog"] }],
    this: "fresh:link",
  },
  "syscall:Link#detach": { args: [], this: "fresh:link" },
  "syscall:Program": {
    args: [
      { safe: "ownFd" },
      "progType",
      "name",
      "str",
      { arrayOf: { safe: "ownHandle:map" }, max: 2 },
    ],
  },
  "syscall:Program.load": {
    args: [progLoadOptions, { arrayOf: { safe: "ownHandle:map" }, max: 2 }],
    runs: 0.5,
  },
  "syscall:Program.fromFd": { args: [{ safe: "ownFd" }] },
  "syscall:Program.fromPinned": { args: ["path"] },
  "syscall:Program.fromId": { args: ["id"] },
  "syscall:Program#info": { args: [], this: "fresh:prog" },
  "syscall:Program#testRun": {
    args: [
      {
        obj: {
          dataIn: "value",
          dataOut: "value",
          ctxIn: "bytes",
          ctxOut: "bytes",
          repeat: { safe: "repeat" },
          flags: "flags",
          cpu: "int",
          batchSize: "int",
        },
      },
    ],
    this: "fresh:prog",
  },
  "syscall:Program#close": { args: [], this: "fresh:prog" },
  "syscall:Btf": { args: [{ safe: "ownFd" }, "str"] },
  "syscall:Btf.load": {
    args: ["btfBytes", { obj: { logLevel: { safe: "logLevel" }, logSize: { safe: "logSize" } } }],
  },
  "syscall:Btf.fromFd": { args: [{ safe: "ownFd" }] },
  "syscall:Btf.fromId": { args: ["id"] },
  "syscall:Btf#info": { args: [{ obj: { withData: "bool" } }], this: "fresh:btf" },
  "syscall:Btf#pin": { args: ["pinPath", { obj: { mode: "int" } }], this: "fresh:btf" },
  "syscall:isPerCpuMapType": { args: ["int"] },
  "syscall:mapValueSlotSize": { args: ["int", "size"] },
  "syscall:mapBatchTokenSize": { args: ["size"] },

  // -------------------------------------------------------------------- btf
  "btf:Btf": { args: ["btfBytes", "btf"] },
  "btf:BtfError": errorCtor(2),
  "btf:Btf#stringsEnd": { args: [], this: "btf" },
  "btf:Btf#u32": { args: ["int"], this: "btf" },
  "btf:Btf#offsetOf": { args: ["int"], this: "btf" },
  "btf:Btf#checkId": { args: ["int", "str", "int"], this: "btf" },
  "btf:Btf#str": { args: ["int", "int"], this: "btf" },
  "btf:Btf#kindOf": { args: ["typeRef"], this: "btf" },
  "btf:Btf#nameOf": { args: ["typeRef"], this: "btf" },
  "btf:Btf#type": { args: ["typeRef"], this: "btf" },
  "btf:Btf#types": { args: [], this: "btf" },
  "btf:Btf#decode": { args: ["int", "int"], this: "btf" },
  "btf:Btf#checkSize": { args: ["int", "int", "int", "int", "int"], this: "btf" },
  "btf:Btf#rawInt": { args: ["int"], this: "btf" },
  "btf:Btf#buildNameIndex": { args: [], this: "btf", runs: 0.2 },
  "btf:Btf#allNames": { args: [], this: "btf", runs: 0.2 },
  "btf:Btf#stringAt": { args: ["int"], this: "btf" },
  "btf:Btf#buildHashIndex": { args: [], this: "btf", runs: 0.2 },
  "btf:Btf#idsNamed": { args: ["name"], this: "btf" },
  "btf:Btf#findTypeIds": { args: ["typeRef", "btfKind"], this: "btf" },
  "btf:Btf#findType": { args: ["typeRef", "btfKind"], this: "btf" },
  "btf:Btf#findTypeUncached": { args: ["typeRef", "btfKind"], this: "btf" },
  "btf:Btf#lookupUncached": { args: ["typeRef"], this: "btf" },
  "btf:Btf#funcId": { args: ["name"], this: "btf" },
  "btf:Btf#lookup": { args: ["typeRef"], this: "btf" },
  "btf:Btf#resolve": { args: ["typeRef"], this: "btf" },
  "btf:Btf#sizeOf": { args: ["typeRef"], this: "btf" },
  "btf:Btf#sizeAt": { args: ["typeRef", "int"], this: "btf" },
  "btf:Btf#alignOf": { args: ["typeRef"], this: "btf" },
  "btf:Btf#alignAt": { args: ["typeRef", "int"], this: "btf" },
  "btf:Btf#standsFor": { args: ["typeRef", "int"], this: "btf" },
  "btf:Btf#composite": { args: ["typeRef"], this: "btf" },
  "btf:Btf#memberOffset": { args: ["typeRef", "memberPath"], this: "btf" },
  "btf:Btf#sizeOrZero": { args: ["typeRef"], this: "btf" },
  "btf:Btf#findMember": { args: ["typeRef", "str", "int", "int"], this: "btf" },
  "btf:Btf#enumValues": { args: ["typeRef"], this: "btf" },
  "btf:Btf#enumerator": { args: ["name"], this: "btf" },
  "btf:Btf#iteratorTargets": { args: [], this: "btf", runs: 0.2 },
  "btf:Btf#flatMembers": { args: ["typeRef", "int", "str", "any"], this: "btf" },
  "btf:Btf#typeName": { args: ["typeRef"], this: "btf" },
  "btf:Btf#formatC": { args: ["typeRef", { obj: { enumSizeAttributes: "bool" } }], this: "btf" },
  "btf:Btf#layout": { args: ["typeRef"], this: "btf" },
  "btf:aligned": { args: ["fieldType", "int"] },
  "btf:array": { args: ["fieldType", "size"] },
  // btf's scalar field types, bytes() and char() are spec's codecs, re-exported.
  ...codecSignatures("btf:", false),
  "btf:clearKernelBtfCache": { args: [], runs: 0.1 },
  "btf:declaration": { args: ["btf", "typeRef", "str"] },
  "btf:formatC": { args: ["btf", "typeRef", { obj: { enumSizeAttributes: "bool" } }] },
  "btf:layoutFromBtf": { args: ["btf", "btfType"] },
  "btf:codecFromBtf": { args: ["btf", "int", { obj: { symbolic: "bool" } }] },
  "btf:loadKernelBtf": { args: [{ obj: { module: "moduleName", dir: "path" } }], runs: 0.2 },
  "btf:loadModuleBtf": { args: ["moduleName", { obj: { dir: "path" } }], runs: 0.2 },
  "btf:parseBtf": { args: ["btfBytes", "btf"] },
  "btf:struct": {
    args: [
      { obj: { a: "fieldType", b: "fieldType", "c.d": "fieldType" } },
      { obj: { packed: "bool", align: "int" } },
    ],
  },
  "btf:typeName": { args: ["btf", "typeRef"] },

  // -------------------------------------------------------------------- dsl
  "dsl:DslError": errorCtor(2),
  // The instruction model, re-exported from spec (the same functions).
  "dsl:InstructionError": errorCtor(3),
  "dsl:aluOff": { args: ["str"] },
  "dsl:aluOpcode": { args: ["bool", "str", "bool"] },
  "dsl:encodeProgram": { args: ["items", { obj: { mapFd: "fn" } }] },
  "dsl:formatRaw": { args: ["insn"] },
  "dsl:jmpOpcode": { args: ["bool", "str", "bool"] },
  "dsl:packetLoadOpcode": { args: ["sizeName", "bool"] },
  "dsl:referenceProblem": { args: ["any", "insn"] },
  "dsl:takesMap": { args: ["any"] },
  "dsl:takesKsym": { args: ["any"] },
  "dsl:takesTarget": { args: ["any"] },
  "dsl:withOpSize": { args: ["int", "int"] },
  "dsl:mapReferences": { args: ["items"] },
  "dsl:checkProgram": { args: ["items"] },
  "dsl:ParseError": errorCtor(4),
  "dsl:PrintfFormatError": errorCtor(5),
  ...Object.fromEntries(alu2.map((f) => [`dsl:${f}`, { args: [reg, regOrImm] }])),
  ...Object.fromEntries(jumps.map((f) => [`dsl:${f}`, { args: [reg, regOrImm, "label"] }])),
  "dsl:neg": { args: [reg] },
  "dsl:neg32": { args: [reg] },
  "dsl:movsx": { args: [reg, reg, "int"] },
  "dsl:movsx32": { args: [reg, reg, "int"] },
  "dsl:be": { args: [reg, "int"] },
  "dsl:le": { args: [reg, "int"] },
  "dsl:bswap": { args: [reg, "int"] },
  "dsl:asm": { args: [{ arrayOf: "text", max: 3 }, "any", "any"] },
  "dsl:assemble": { args: ["items"] },
  "dsl:atomic": { args: ["str", "sizeName", reg, "off", reg] },
  "dsl:buildIterProgram": { args: ["iterCtx", "items", { obj: { name: "name", license: "str" } }] },
  "dsl:buildProgram": {
    args: [
      { obj: { type: "progType", license: "str", name: "name", expectedAttachType: "attachType" } },
      "items",
    ],
  },
  "dsl:call": { args: ["helper"] },
  "dsl:callKfunc": { args: ["int", "int"] },
  "dsl:kfunc": { args: ["name", { obj: { fd: "int" } }, "int"] },
  "dsl:openIterLoop": {
    args: [
      {
        obj: {
          type: "str",
          stack: "int",
          label: "name",
          args: "items",
          body: "items",
          kernelTypes: "btf",
        },
      },
    ],
  },
  "dsl:openIterStateLayout": { args: ["str", "btf"] },
  "dsl:kfuncCall": { args: ["btf", "str", "items"] },
  "dsl:forRange": {
    args: ["str", "any", "any", { obj: { stack: "int", label: "name", body: "items" } }],
  },
  "dsl:callSubprog": { args: ["label"] },
  "dsl:checkInstruction": { args: ["insn", "int"] },
  "dsl:classify": { args: ["insn"] },
  "dsl:checkPrintfFormat": { args: ["fmt", { obj: { helper: "str" } }] },
  "dsl:countConversions": { args: ["fmt"] },
  "dsl:decode": { args: ["insnBytes"] },
  "dsl:disassemble": { args: ["insnBytes", { obj: { offsets: "bool", raw: "bool" } }] },
  "dsl:disassembleItems": { args: ["insnBytes"] },
  "dsl:encode": { args: ["items"] },
  "dsl:encodeInto": { args: ["view", "int", "insn"] },
  "dsl:exit": { args: [] },
  "dsl:exitIfNull": { args: [reg, "label"] },
  "dsl:fieldAddress": { args: ["btf", reg, reg, "typeRef", "memberPath"] },
  "dsl:flatten": { args: ["items"] },
  "dsl:formatVerifierError": {
    args: ["report", { oneOf: ["items", "insnBytes", "spec"] }, { obj: { context: "int" } }],
  },
  "dsl:gotol": { args: ["label"] },
  "dsl:helperId": { args: ["helper"] },
  "dsl:helperName": { args: ["int"] },
  "dsl:hex": { args: [{ oneOf: ["int", "bigint"] }] },
  "dsl:isInt": { args: ["int", "int"] },
  "dsl:isLabel": { args: ["any"] },
  "dsl:isMapReference": { args: ["any"] },
  "dsl:iterContext": { args: ["btf", "target", reg] },
  "dsl:iterProgram": { args: ["iterCtx", "items", { obj: { name: "name", license: "str" } }] },
  "dsl:iterReturn": { args: ["int", "label"] },
  "dsl:ja": { args: ["label"] },
  "dsl:label": { args: ["label"] },
  "dsl:ldBtfId": { args: [reg, "int"] },
  "dsl:ldFunc": { args: [reg, "label"] },
  "dsl:ldImm64": { args: [reg, { oneOf: ["bigint", "imm"] }] },
  "dsl:ldMapFd": {
    args: [reg, { oneOf: ["name", { obj: { name: "name" } }, { obj: { handle: "handle:map" } }] }],
  },
  "dsl:ldMapValue": { args: [reg, { oneOf: ["name", { obj: { name: "name" } }] }, "imm"] },
  "dsl:ldPseudo": { args: [reg, "int", "imm", "imm"] },
  "dsl:ldStr": { args: [reg, "str", "imm"] },
  "dsl:ldx": { args: ["sizeName", reg, reg, "off"] },
  "dsl:ldxsx": { args: ["sizeName", reg, reg, "off"] },
  "dsl:loadField": { args: ["btf", reg, reg, "typeRef", "memberPath"] },
  "dsl:opClass": { args: ["int"] },
  "dsl:opCode": { args: ["int"] },
  "dsl:opMode": { args: ["int"] },
  "dsl:opSize": { args: ["int"] },
  "dsl:opSource": { args: ["int"] },
  "dsl:parse": { args: ["text"] },
  "dsl:parseInstruction": { args: ["text"] },
  "dsl:parseVerifierLog": { args: ["report"] },
  "dsl:print": { args: ["items"] },
  "dsl:printForm": { args: ["str", "insn"] },
  "dsl:printInstruction": { args: ["insn"] },
  "dsl:printMapReference": {
    args: [{ oneOf: [{ obj: { name: "name" } }, { obj: { handle: "handle" } }] }],
  },
  "dsl:program": {
    args: [{ obj: { type: "progType", license: "str", name: "name" } }, "items"],
  },
  "dsl:regNumber": { args: [reg, "str"] },
  "dsl:seqPrintf": {
    args: [
      reg,
      "fmt",
      { arrayOf: { oneOf: [reg, "imm", { obj: { str: "str" } }] }, max: 14 },
      "any",
    ],
  },
  "dsl:seqWrite": {
    args: [reg, { oneOf: [reg, { obj: { str: "str" } }] }, { oneOf: ["int", reg] }],
  },
  "dsl:slotsOf": { args: ["insn"] },
  "dsl:st": { args: ["sizeName", reg, "off", "imm"] },
  "dsl:stx": { args: ["sizeName", reg, "off", reg] },
  "dsl:subprog": { args: ["label", "items", "items"] },

  // ------------------------------------------------------------------- iter
  "iter:IteratorAbortError": errorCtor(1),
  "iter:IteratorError": errorCtor(2),
  "iter:IteratorOverflowError": errorCtor(1),
  "iter:IteratorParamError": errorCtor(2),
  "iter:IteratorReadError": errorCtor(3),
  "iter:IteratorTargetRefusedError": errorCtor(3),
  "iter:UnsupportedTargetError": errorCtor(3),
  "iter:IteratorReplayError": errorCtor(3),
  "iter:loadedProgramTarget": { args: ["handle:prog", "btf"] },
  "iter:IteratorLink": {
    args: [{ safe: "ownHandle:link" }, "target", "handle:prog", { safe: "ownHandle:prog" }],
  },
  "iter:IteratorLink.fromPinned": { args: ["path"] },
  "iter:IteratorLink#fd": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#closed": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#program": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#open": { args: [readerOptions], this: "fresh:iterLink" },
  "iter:IteratorLink#readAll": { args: [readerOptions], this: "fresh:iterLink", overlap: true },
  "iter:IteratorLink#readAllSync": { args: [readerOptions], this: "fresh:iterLink" },
  "iter:IteratorLink#text": { args: [readerOptions], this: "fresh:iterLink", overlap: true },
  "iter:IteratorLink#pin": { args: ["pinPath"], this: "fresh:iterLink" },
  "iter:IteratorLink#info": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#update": {
    args: [{ oneOf: ["spec", "handle:prog"] }],
    this: "fresh:iterLink",
  },
  "iter:IteratorLink#close": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#[nodejs.dispose]": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#[nodejs.asyncDispose]": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#[Symbol.dispose]": { args: [], this: "fresh:iterLink" },
  "iter:IteratorLink#[Symbol.asyncDispose]": { args: [], this: "fresh:iterLink" },
  "iter:IteratorReader": { args: [{ safe: "ownFd" }, readerOptions] },
  "iter:IteratorReader#fd": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#closed": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#done": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#read": { args: [], this: "fresh:reader", overlap: true },
  "iter:IteratorReader#readAll": {
    args: [{ obj: { sizeHint: "size" } }],
    this: "fresh:reader",
    overlap: true,
  },
  "iter:IteratorReader#forEachChunk": { args: ["chunkFn"], this: "fresh:reader", overlap: true },
  "iter:IteratorReader#readAllSync": {
    args: [{ obj: { sizeHint: "size" } }],
    this: "fresh:reader",
  },
  "iter:IteratorReader#text": { args: [], this: "fresh:reader", overlap: true },
  "iter:IteratorReader#textSync": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#lines": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#records": { args: ["decoder"], this: "fresh:reader" },
  "iter:IteratorReader#readRecords": {
    args: ["chunkDecoder"],
    this: "fresh:reader",
    overlap: true,
  },
  "iter:IteratorReader#readRecordsSync": { args: ["decoder"], this: "fresh:reader" },
  "iter:IteratorReader#stream": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#close": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#[Symbol.asyncIterator]": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#[nodejs.dispose]": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#[nodejs.asyncDispose]": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#[Symbol.dispose]": { args: [], this: "fresh:reader" },
  "iter:IteratorReader#[Symbol.asyncDispose]": { args: [], this: "fresh:reader" },
  "iter:MapElements": { args: ["mapDesc", "bytes"] },
  "iter:MapElements#keyAt": { args: ["int"], this: "fresh:mapElements" },
  "iter:MapElements#valueAt": { args: ["int"], this: "fresh:mapElements" },
  "iter:MapElements#at": { args: ["int"], this: "fresh:mapElements" },
  "iter:MapElements#[Symbol.iterator]": { args: [], this: "fresh:mapElements" },
  "iter:MapElements#entries": { args: [], this: "fresh:mapElements" },
  "iter:MapElements#keys": { args: [], this: "fresh:mapElements" },
  "iter:MapElements#values": { args: [], this: "fresh:mapElements" },
  "iter:MapElements#toArray": { args: [], this: "fresh:mapElements" },
  "iter:MapElements#map": { args: ["fn"], this: "fresh:mapElements" },
  "iter:MapElements#forEach": { args: ["fn"], this: "fresh:mapElements" },
  "iter:MapElements#keyColumn": { args: [], this: "fresh:mapElements" },
  "iter:MapElements#valueColumn": { args: [], this: "fresh:mapElements" },
  "iter:MapElemsDecoder": { args: ["mapDesc"] },
  "iter:MapElemsDecoder#push": { args: ["bytes"], this: "fresh:mapElemsDecoder" },
  "iter:MapElemsDecoder#end": { args: [], this: "fresh:mapElemsDecoder" },
  "iter:RecordSplitter": { args: ["size"] },
  "iter:RecordSplitter#pending": { args: [], this: "fresh:splitter" },
  "iter:RecordSplitter#push": { args: ["bytes", "fn"], this: "fresh:splitter" },
  // Raw fd io: close(fd) closes whatever it is given, so it gets only fds made for the call.
  "iter:nodeFdIo.read": { args: ["fd", "bytes", "int", "int"], allow: nodeIo() },
  "iter:nodeFdIo.readSync": { args: ["fd", "bytes", "int", "int"], allow: nodeIo() },
  "iter:nodeFdIo.close": { args: [{ safe: "ownFdRaw" }], allow: nodeIo() },
  "iter:nodeFdIo.dup": { args: ["fd"], returns: "fd", allow: nodeIo() },
  "iter:nodeFdIo.sameFile": { args: ["fd", "fd"], allow: nodeIo() },
  "iter:bpfLinks": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:bpfMaps": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:bpfProgs": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:builtinLayout": { args: ["target", "iterParams"] },
  "iter:builtinLink": { args: ["target", "iterParams"], resetCaches: true, runs: 0.5 },
  "iter:builtinOf": { args: ["target"] },
  "iter:builtinRecordSize": { args: ["target", "iterParams"] },
  "iter:builtins": { args: [] },
  "iter:cgroups": {
    args: [
      { obj: { cgroupFd: "fd", cgroupId: { oneOf: ["bigint", "int"] }, order: "str" } },
      readerOptions,
    ],
    resetCaches: true,
    runs: 0.3,
  },
  "iter:checkChunkSize": { args: ["size"] },
  "iter:checkKernelParams": { args: ["btf", "target", "linkParams"] },
  "iter:checkParams": { args: ["target", "iterParams"] },
  "iter:checkTargetName": { args: ["target"] },
  "iter:closeBuiltins": { args: [] },
  "iter:closeMapElemPrograms": { args: [] },
  "iter:compileRecord": { args: ["btf", "target", "typeRef", "fieldDefs", "name"], runs: 0.5 },
  "iter:createIterator": {
    args: [{ oneOf: ["spec", "handle:prog"] }, "target", "iterParams"],
    coupled: "createIterator",
  },
  "iter:decodeBuiltin": { args: ["target", "bytes", "iterParams"] },
  "iter:decodeMapElems": { args: ["mapDesc", "bytes"] },
  "iter:mapBtfCodecs": { args: ["mapDesc"] },
  "iter:perCpu": { args: ["fieldType", "int"] },
  "iter:decodeRecords": { args: ["bytes", "decoder"] },
  "iter:ensureBpffs": { args: ["path"] },
  "iter:ipv6Routes": { args: [netnsOptions], resetCaches: true, runs: 0.3 },
  "iter:iteratorProgramSpec": { args: ["spec", "target", "btf"] },
  "iter:iteratorSpec": { args: ["btf", "target", "items", "name"] },
  "iter:writeRecordAndExit": { args: ["off", "size", "label"] },
  "iter:kmemCaches": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:ksyms": { args: [readerOptions], resetCaches: true, runs: 0.2 },
  "iter:loadIteratorProgram": { args: ["spec", "target", "btf"], runs: 0.5 },
  "iter:mapElemProgram": { args: ["size", "size"], resetCaches: true, runs: 0.5 },
  "iter:mapElems": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:mapElemsRaw": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:mapElemsRawSync": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:mapElemsSync": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:sockmapSockets": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:skStorage": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:missingTargets": { args: ["btf"] },
  "iter:netlinkSockets": { args: [netnsOptions], resetCaches: true, runs: 0.3 },
  "iter:netnsMounts": { args: ["str"] },
  "iter:networkNamespaces": { args: [], resetCaches: true, runs: 0.3 },
  "iter:ownNetnsInode": { args: [] },
  "iter:cgroupPaths": { args: [], runs: 0.3 },
  "iter:pidnsInode": { args: [{ oneOf: ["pid", "path"] }] },
  "iter:readNsIds": { args: ["int", "u32", readerOptions], resetCaches: true, runs: 0.3 },
  "iter:taskNamespaces": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:taskNamespacesSync": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:netnsFiles": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:netnsFilesSync": { args: [readerOptions], resetCaches: true, runs: 0.3 },
  "iter:readPerNetns": {
    skip: "takes a Builtin (from builtinOf) and a task source; tcp, udp, unix, ipv6Routes and netlinkSockets call it with every option",
  },
  "iter:openMapElems": { args: ["mapDesc", readerOptions], resetCaches: true, runs: 0.5 },
  "iter:openPinned": { args: ["path", readerOptions] },
  "iter:paramKind": { args: ["target"] },
  "iter:probeIteratorTarget": { args: ["target", "btf"], runs: 0.3 },
  "iter:supportedTargets": { args: ["btf"] },
  "iter:targetBtfId": { args: ["target", "btf"] },
  "iter:targetInfo": { args: ["target"] },
  "iter:taskFiles": { args: [taskFilter, readerOptions], resetCaches: true, runs: 0.3 },
  "iter:taskVmas": { args: [taskFilter, readerOptions], resetCaches: true, runs: 0.3 },
  "iter:tasks": { args: [taskFilter, readerOptions], resetCaches: true, runs: 0.3 },
  "iter:tasksSync": { args: [taskFilter, readerOptions], resetCaches: true, runs: 0.3 },
  "iter:tcp": { args: [netnsOptions], resetCaches: true, runs: 0.3 },
  "iter:toIterLinkParams": { args: ["linkParams"] },
  "iter:udp": { args: [netnsOptions], resetCaches: true, runs: 0.3 },
  "iter:unix": { args: [netnsOptions], resetCaches: true, runs: 0.3 },
  "iter:QueryError": errorCtor(2),
  "iter:query": { args: ["target", queryOptions, readerOptions], resetCaches: true, runs: 0.3 },
  "iter:querySync": { args: ["target", queryOptions, readerOptions], resetCaches: true, runs: 0.3 },
  "iter:compileQuery": { args: ["target", queryOptions, "btf"], runs: 0.3 },
  "iter:closeQueries": { args: [] },
  "iter:processes": {
    args: [{ obj: { threads: "bool", where: "str" } }],
    resetCaches: true,
    runs: 0.3,
  },
  "iter:parseWhere": { args: ["str"] },
  "iter:formatWhere": { args: ["any"] },
  "iter:resolvePath": { args: ["btf", "target", "str", "int"], runs: 0.5 },
  "iter:contextMembers": { args: ["btf", "target"], runs: 0.5 },
  "iter:nearestNames": { args: ["str", { arrayOf: "str", max: 8 }, "int"] },
  "iter:stateLetter": { args: ["int", "int"] },
  "iter:processArgs": {
    args: [{ obj: { which: "str", max: "int" } }],
    resetCaches: true,
    runs: 0.3,
  },
  "iter:closeProcessArgs": { args: [] },
  "iter:hasCopyFromUserTask": { args: ["btf"] },

  // -------------------------------------------------------------------- elf
  "elf:Collection": {
    args: [
      "collectionSpec",
      { obj: { counts: { safe: "ownHandle:map" } } },
      { obj: { task: { safe: "ownHandle:prog" } } },
      "any",
    ],
  },
  "elf:Collection#closed": { args: [], this: "fresh:collection" },
  "elf:Collection#close": { args: [], this: "fresh:collection" },
  "elf:Collection#[nodejs.dispose]": { args: [], this: "fresh:collection" },
  "elf:Collection#[Symbol.dispose]": { args: [], this: "fresh:collection" },
  "elf:CoreRelocationError": errorCtor(4),
  "elf:ElfError": errorCtor(3),
  "elf:ProgramLoadError": errorCtor(4),
  "elf:ElfFile": { args: ["elfBytes"] },
  "elf:ElfFile#range": { args: ["int", "int", "str"], this: "elfFile" },
  "elf:ElfFile#u16": { args: ["int"], this: "elfFile" },
  "elf:ElfFile#u32": { args: ["int"], this: "elfFile" },
  "elf:ElfFile#u64": { args: ["int"], this: "elfFile" },
  "elf:ElfFile#str": { args: ["section", "int"], this: "elfFile" },
  "elf:ElfFile#section": { args: ["name"], this: "elfFile" },
  "elf:ElfFile#sectionAt": { args: ["int", "str"], this: "elfFile" },
  "elf:ElfFile#contents": { args: ["section"], this: "elfFile" },
  "elf:ElfFile#readSymbols": { args: [], this: "elfFile" },
  "elf:ElfFile#relocations": { args: ["section"], this: "elfFile" },
  "elf:fixupBtf": { args: ["btfBytes", "elfFile"] },
  "elf:loadCollection": {
    args: [{ oneOf: ["elfPath", "elfBytes"] }, loadCollectionOptions],
    runs: 0.5,
  },
  "elf:loadCollectionSpec": { args: ["collectionSpec", loadCollectionOptions], runs: 0.5 },
  "elf:parseBtfExt": { args: ["bytes", "btf"] },
  "elf:parseCollection": { args: ["elfBytes"] },
  "elf:bindProgramSpec": { args: ["spec", "btf", { obj: { kallsyms: "fn", modules: "fn" } }] },
  "elf:bindKsyms": { args: ["items", "btf", "any", "str", "fn", "fn"] },
  "elf:moduleKsymId": { args: ["btf", "name", "str"] },
  "elf:KernelModuleTypes": { args: ["btf"] },
  "elf:KernelModuleTypes#names": { args: [], this: "fresh:kernelModuleTypes", runs: 0.2 },
  "elf:KernelModuleTypes#find": {
    args: ["name", "str"],
    this: "fresh:kernelModuleTypes",
    runs: 0.2,
  },
  "elf:KernelModuleTypes#lookup": { args: [], this: "fresh:kernelModuleTypes" },
  "elf:KernelModuleTypes#closed": { args: [], this: "fresh:kernelModuleTypes" },
  "elf:KernelModuleTypes#close": { args: [], this: "fresh:kernelModuleTypes" },
  "elf:KernelModuleTypes#[nodejs.dispose]": { args: [], this: "fresh:kernelModuleTypes" },
  "elf:KernelModuleTypes#[Symbol.dispose]": { args: [], this: "fresh:kernelModuleTypes" },
  "elf:kernelVersionCode": { args: ["str"] },
  "elf:readKernelConfig": { args: [] },
  "elf:kallsymsLookup": { args: [] },
  "elf:parseElf": { args: ["elfBytes"] },
  "elf:resolveCore": { args: ["coreRecord", "btf", "btf"] },
  "elf:sectionKind": { args: ["name"] },
  // @ts-ebpf/exporter
  "exporter:Exporter": {
    args: [
      {
        oneOf: [
          "any",
          {
            obj: {
              collectors: { arrayOf: "str", max: 4 },
              maxGroups: "int",
              maxPorts: "int",
              maxBpfObjects: "int",
            },
          },
        ],
      },
    ],
  },
  "exporter:GroupingConfigError": errorCtor(2),
  "exporter:ServeUsageError": errorCtor(2),
  "exporter:Exporter#scrape": {
    args: [{ oneOf: [{ lit: { s: "prometheus" } }, { lit: { s: "openmetrics" } }, "str"] }],
    this: "fresh:exporter",
    overlap: true,
  },
  "exporter:Exporter#close": { args: [], this: "fresh:exporter" },
  "exporter:Exporter#[Symbol.dispose]": { args: [], this: "fresh:exporter" },
  "exporter:Exporter#[nodejs.dispose]": { args: [], this: "fresh:exporter" },
  "exporter:ProcessDecoder": { args: ["any"] },
  "exporter:ProcessDecoder#decode": { args: ["bytes"], this: "fresh:processDecoder" },
  "exporter:decodeProcesses": { args: ["bytes", "any"] },
  "exporter:stateLetter": { args: ["int", "int"] },
  "exporter:processProgram": { args: ["btf", "any"], runs: 0.3 },
  "exporter:cgroupPaths": {
    args: [{ arrayOf: { obj: { id: "bigint", level: "int", name: "str" } }, max: 8 }],
  },
  "exporter:groupBy": { args: ["str", "str"] },
  "exporter:groupByRules": {
    args: [{ oneOf: ["any", { arrayOf: { obj: { name: "str", comm: { arrayOf: "str" } } } }] }],
  },
  "exporter:loadGroupingConfig": { args: ["path"] },
  "exporter:parseListen": { args: ["str"] },
  "exporter:wantsOpenMetrics": { args: ["str"] },
  "exporter:parseServeArgs": { args: [{ arrayOf: "str", max: 6 }] },
  "exporter:serve": {
    skip: "binds the address it is given on the host; its checks are parseListen's and the Exporter's, called here, and its HTTP behaviour is tested in packages/exporter",
  },
  "exporter:serveMain": {
    skip: "the CLI entry: serves until SIGINT or SIGTERM; its parsing is parseServeArgs, called here",
  },
  "exporter:runCli": { skip: "the bin's entry: serveMain with the exit code (see serveMain)" },
};

function nodeIo(): { types: string[]; why: string } {
  return {
    types: ["SystemError"],
    why: "nodeFdIo is node's fs.read/readSync/closeSync for a raw fd and documents their errors",
  };
}

/** Error.captureStackTrace and friends reached through the static chain of error classes are V8's, not the package's. */
export function isBuiltinStatic(key: string): boolean {
  return /:Error\.(captureStackTrace|prepareStackTrace|stackTraceLimit|isError)$/.test(key);
}
