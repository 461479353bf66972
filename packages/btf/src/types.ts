// The shapes of decoded BTF types. Every reference to another type is a type id
// (a number); follow it with `Btf.type(id)`. Id 0 is `void`.

/** Kind numbers as in include/uapi/linux/btf.h. */
export const BTF_KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

export type BtfKind =
  | "void"
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

/** Kind names indexed by kind number (index 0 is "void", the pseudo-kind of id 0). */
export const KIND_NAMES: readonly BtfKind[] = [
  "void",
  "int",
  "ptr",
  "array",
  "struct",
  "union",
  "enum",
  "fwd",
  "typedef",
  "volatile",
  "const",
  "restrict",
  "func",
  "func_proto",
  "var",
  "datasec",
  "float",
  "decl_tag",
  "type_tag",
  "enum64",
];

interface Base {
  /** Type id (0 only for void). */
  readonly id: number;
  /** Name, "" when anonymous. */
  readonly name: string;
}

export interface VoidType extends Base {
  readonly kind: "void";
}

export interface IntType extends Base {
  readonly kind: "int";
  readonly size: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
  /** Bit offset of the value inside `size` bytes (BTF_INT_OFFSET; 0 in practice). */
  readonly bitOffset: number;
  /** Number of value bits (BTF_INT_BITS). */
  readonly bits: number;
}

export interface FloatType extends Base {
  readonly kind: "float";
  readonly size: number;
}

/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG: a name (maybe) and one referenced type. */
export interface RefType extends Base {
  readonly kind: "ptr" | "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  readonly type: number;
  /**
   * TYPE_TAG only: kind_flag set, the tag is a C attribute (`__attribute__((name))`)
   * rather than `btf_type_tag("name")`.
   */
  readonly attribute?: boolean;
}

export interface ArrayType extends Base {
  readonly kind: "array";
  /** Element type id. */
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}

export interface Member {
  /** "" for an anonymous struct or union member. */
  readonly name: string;
  readonly type: number;
  /** Offset from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Width in bits when the member is a bitfield, else 0. */
  readonly bitfieldSize: number;
}

export interface CompositeType extends Base {
  readonly kind: "struct" | "union";
  readonly size: number;
  readonly members: readonly Member[];
  /** kind_flag: member offsets carry bitfield sizes. */
  readonly kindFlag: boolean;
}

export interface EnumValue<V> {
  readonly name: string;
  readonly value: V;
}

export interface EnumType extends Base {
  readonly kind: "enum";
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly EnumValue<number>[];
}

export interface Enum64Type extends Base {
  readonly kind: "enum64";
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly EnumValue<bigint>[];
}

export interface FwdType extends Base {
  readonly kind: "fwd";
  readonly fwdKind: "struct" | "union";
}

export type Linkage = "static" | "global" | "extern";

export interface FuncType extends Base {
  readonly kind: "func";
  /** Id of the FUNC_PROTO. */
  readonly type: number;
  readonly linkage: Linkage;
}

export interface Param {
  readonly name: string;
  /** 0 for the `...` of a variadic function. */
  readonly type: number;
}

export interface FuncProtoType extends Base {
  readonly kind: "func_proto";
  /** Return type id, 0 for void. */
  readonly returnType: number;
  readonly params: readonly Param[];
}

export interface VarType extends Base {
  readonly kind: "var";
  readonly type: number;
  readonly linkage: Linkage;
}

export interface VarSecInfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface DatasecType extends Base {
  readonly kind: "datasec";
  readonly size: number;
  readonly vars: readonly VarSecInfo[];
}

export interface DeclTagType extends Base {
  readonly kind: "decl_tag";
  readonly type: number;
  /** -1 when the tag applies to the type itself, else the member / parameter index. */
  readonly componentIdx: number;
  /** kind_flag set: the tag is a C attribute (`__attribute__((name))`), not `btf_decl_tag`. */
  readonly attribute: boolean;
}

export type BtfType =
  | VoidType
  | IntType
  | FloatType
  | RefType
  | ArrayType
  | CompositeType
  | EnumType
  | Enum64Type
  | FwdType
  | FuncType
  | FuncProtoType
  | VarType
  | DatasecType
  | DeclTagType;

/** Narrows a type by kind name. */
export type TypeOfKind<K extends BtfKind> = K extends CompositeType["kind"]
  ? CompositeType
  : K extends RefType["kind"]
    ? RefType
    : Extract<BtfType, { kind: K }>;
