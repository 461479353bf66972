// Constants that are #defines in include/uapi/linux/bpf.h (so absent from
// kernel BTF) and therefore written by hand here. Values are kernel ABI and
// never change once released.

/** `BPF_OBJ_NAME_LEN`: map/program/link names hold 15 characters and a NUL. */
export const BPF_OBJ_NAME_LEN = 16;
/** `BPF_TAG_SIZE`: program tag bytes in bpf_prog_info. */
export const BPF_TAG_SIZE = 8;
/**
 * `BPF_FS_MAGIC` (include/uapi/linux/magic.h): bpffs's f_type in statfs, how a
 * pin path or an opened pin is checked to be on bpffs.
 */
export const BPF_FS_MAGIC = 0xcafe4a11;

// ld_imm64 src_reg values (include/uapi/linux/bpf.h).
/** `BPF_PSEUDO_MAP_FD`: imm holds a map fd. */
export const BPF_PSEUDO_MAP_FD = 1;
/** `BPF_PSEUDO_MAP_VALUE`: imm holds a map fd, the second slot's imm an offset into value 0. */
export const BPF_PSEUDO_MAP_VALUE = 2;
/** `BPF_PSEUDO_BTF_ID`: imm holds a kernel BTF id (ksym). */
export const BPF_PSEUDO_BTF_ID = 3;
/** `BPF_PSEUDO_FUNC`: imm holds the pc-relative offset of a subprogram. */
export const BPF_PSEUDO_FUNC = 4;
/** `BPF_PSEUDO_MAP_IDX`: imm holds an index into fd_array. */
export const BPF_PSEUDO_MAP_IDX = 5;
/** `BPF_PSEUDO_MAP_IDX_VALUE`. */
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// call src_reg values (include/uapi/linux/bpf.h).
/** `BPF_PSEUDO_CALL`: imm is the pc-relative offset of a BPF subprogram. */
export const BPF_PSEUDO_CALL = 1;
/** `BPF_PSEUDO_KFUNC_CALL`: imm is the BTF id of a kernel function. */
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** BPF_PROG_LOAD `prog_flags` (#defines in include/uapi/linux/bpf.h). */
export const BpfProgLoadFlag = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
  TOKEN_FD: 1 << 16,
} as const;

/** BPF_LINK_UPDATE / PROG_ATTACH `flags`: `BPF_F_REPLACE` (old_prog_fd must be attached). */
export const BPF_F_REPLACE = 1 << 2;

/** BPF_PROG_TEST_RUN `flags` (include/uapi/linux/bpf.h). */
export const BpfTestRunFlag = {
  RUN_ON_CPU: 1 << 0,
  XDP_LIVE_FRAMES: 1 << 1,
  TEST_SKB_CHECKSUM_COMPLETE: 1 << 2,
} as const;

/** BPF_OBJ_GET / GET_FD_BY_ID `file_flags` / `open_flags` (uapi enum values reused). */
export const BpfFileFlag = {
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  /** BPF_OBJ_PIN/GET: `path_fd` is valid. */
  PATH_FD: 1 << 14,
} as const;

/** Verifier log levels (include/linux/bpf_verifier.h: BPF_LOG_LEVEL1/2, BPF_LOG_STATS). */
export const BpfLogLevel = {
  NONE: 0,
  BRANCHES: 1,
  INSNS: 2,
  STATS: 4,
} as const;
