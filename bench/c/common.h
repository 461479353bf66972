/* Shared by the C reference programs of the ts-ebpf benchmark suite.
 * Raw bpf(2), a minimal BTF walker (to find iterator function ids and context
 * member offsets instead of hard-coding them), instruction macros, timing and
 * the one-line result format the harness parses:
 *   sample <wall seconds> <items> <cpu seconds>
 * (CPU time of the whole process, user + system: the kernel's work in bpf(2)
 * and read() counts, and it is much less disturbed by other load than wall time.)
 * One line per repetition, after one untimed warm-up. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static __attribute__((unused)) void die(const char *what) {
  fprintf(stderr, "error: %s: %s\n", what, strerror(errno));
  exit(1);
}

static __attribute__((unused)) void fail(const char *what) {
  fprintf(stderr, "error: %s\n", what);
  exit(1);
}

static __attribute__((unused)) long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct stopwatch {
  double wall, cpu;
};

static __attribute__((unused)) struct stopwatch sw_start(void) {
  return (struct stopwatch){.wall = now_s(), .cpu = cpu_s()};
}

static __attribute__((unused)) struct stopwatch sw_elapsed(struct stopwatch start) {
  return (struct stopwatch){.wall = now_s() - start.wall, .cpu = cpu_s() - start.cpu};
}

static __attribute__((unused)) void report(struct stopwatch elapsed, unsigned long long items) {
  printf("sample %.9f %llu %.9f\n", elapsed.wall, items, elapsed.cpu);
  fflush(stdout);
}

/* A map given on the command line: a bpffs path ("/sys/fs/bpf/...") or an
 * inherited fd number. */
static __attribute__((unused)) int open_map(const char *spec) {
  if (spec[0] != '/') return atoi(spec);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.pathname = (uint64_t)(uintptr_t)spec;
  int fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
  if (fd < 0) die("BPF_OBJ_GET");
  return fd;
}

/* ---- BTF ------------------------------------------------------------- */

struct btf {
  char *data;
  const char *strs;
  const struct btf_type **types; /* index = type id; [0] = void */
  uint32_t nr;
};

static __attribute__((unused)) uint32_t btf_extra(const struct btf_type *t) {
  uint32_t vlen = BTF_INFO_VLEN(t->info);
  switch (BTF_INFO_KIND(t->info)) {
  case BTF_KIND_INT: return 4;
  case BTF_KIND_ARRAY: return sizeof(struct btf_array);
  case BTF_KIND_STRUCT:
  case BTF_KIND_UNION: return vlen * sizeof(struct btf_member);
  case BTF_KIND_ENUM: return vlen * sizeof(struct btf_enum);
  case BTF_KIND_FUNC_PROTO: return vlen * sizeof(struct btf_param);
  case BTF_KIND_VAR: return sizeof(struct btf_var);
  case BTF_KIND_DATASEC: return vlen * sizeof(struct btf_var_secinfo);
  case BTF_KIND_DECL_TAG: return sizeof(struct btf_decl_tag);
  case BTF_KIND_ENUM64: return vlen * 12;
  default: return 0; /* PTR, FWD, TYPEDEF, qualifiers, FUNC, FLOAT, TYPE_TAG */
  }
}

/* Indexes the types of BTF already in b->data: what a parser must do before
 * it can answer any query. */
static __attribute__((unused)) void btf_index(struct btf *b) {
  const struct btf_header *h = (const struct btf_header *)b->data;
  if (h->magic != BTF_MAGIC) fail("bad BTF magic");
  const char *types = b->data + h->hdr_len + h->type_off;
  const char *end = types + h->type_len;
  b->strs = b->data + h->hdr_len + h->str_off;
  uint32_t cap = 1 << 16;
  b->types = malloc(cap * sizeof(*b->types));
  b->types[0] = NULL;
  b->nr = 1;
  for (const char *p = types; p < end;) {
    const struct btf_type *t = (const struct btf_type *)p;
    if (b->nr == cap) b->types = realloc(b->types, (cap *= 2) * sizeof(*b->types));
    b->types[b->nr++] = t;
    p += sizeof(*t) + btf_extra(t);
  }
}

static __attribute__((unused)) size_t read_file(const char *path, char **out) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die(path);
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat");
  char *data = malloc(st.st_size);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, data + got, st.st_size - got);
    if (n <= 0) die("read");
    got += (size_t)n;
  }
  close(fd);
  *out = data;
  return got;
}

static __attribute__((unused)) void btf_load(struct btf *b, const char *path) {
  read_file(path, &b->data);
  btf_index(b);
}

static __attribute__((unused)) int btf_find(const struct btf *b, const char *name, int kind) {
  for (uint32_t i = 1; i < b->nr; i++) {
    const struct btf_type *t = b->types[i];
    if ((int)BTF_INFO_KIND(t->info) == kind && strcmp(b->strs + t->name_off, name) == 0)
      return (int)i;
  }
  fprintf(stderr, "error: BTF has no %s (kind %d)\n", name, kind);
  exit(1);
}

static __attribute__((unused)) uint32_t btf_skip_mods(const struct btf *b, uint32_t id) {
  for (;;) {
    int k = BTF_INFO_KIND(b->types[id]->info);
    if (k != BTF_KIND_TYPEDEF && k != BTF_KIND_VOLATILE && k != BTF_KIND_CONST &&
        k != BTF_KIND_RESTRICT && k != BTF_KIND_TYPE_TAG)
      return id;
    id = b->types[id]->type;
  }
}

/* Byte offset of a named member, looking inside anonymous structs/unions
 * (the iterator contexts wrap every pointer in __bpf_md_ptr's union). */
static __attribute__((unused)) long btf_member_off(const struct btf *b, uint32_t id, const char *name) {
  const struct btf_type *t = b->types[btf_skip_mods(b, id)];
  const struct btf_member *m = (const struct btf_member *)(t + 1);
  int bitfields = BTF_INFO_KFLAG(t->info);
  for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); i++) {
    long bits = bitfields ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
    if (m[i].name_off == 0) {
      long inner = btf_member_off(b, m[i].type, name);
      if (inner >= 0) return bits / 8 + inner;
    } else if (strcmp(b->strs + m[i].name_off, name) == 0) {
      return bits / 8;
    }
  }
  return -1;
}

static __attribute__((unused)) long btf_struct_member(const struct btf *b, const char *st, const char *member) {
  long off = btf_member_off(b, (uint32_t)btf_find(b, st, BTF_KIND_STRUCT), member);
  if (off < 0) {
    fprintf(stderr, "error: struct %s has no member %s\n", st, member);
    exit(1);
  }
  return off;
}

/* ---- instructions ---------------------------------------------------- */

#define INSN(CODE, DST, SRC, OFF, IMM) \
  ((struct bpf_insn){.code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM)})
#define LDX64(DST, SRC, OFF) INSN(BPF_LDX | BPF_MEM | BPF_DW, DST, SRC, OFF, 0)
#define LDX32(DST, SRC, OFF) INSN(BPF_LDX | BPF_MEM | BPF_W, DST, SRC, OFF, 0)
#define STX64(DST, SRC, OFF) INSN(BPF_STX | BPF_MEM | BPF_DW, DST, SRC, OFF, 0)
#define STX32(DST, SRC, OFF) INSN(BPF_STX | BPF_MEM | BPF_W, DST, SRC, OFF, 0)
#define MOV64_REG(DST, SRC) INSN(BPF_ALU64 | BPF_MOV | BPF_X, DST, SRC, 0, 0)
#define MOV64_IMM(DST, IMM) INSN(BPF_ALU64 | BPF_MOV | BPF_K, DST, 0, 0, IMM)
#define ADD64_IMM(DST, IMM) INSN(BPF_ALU64 | BPF_ADD | BPF_K, DST, 0, 0, IMM)
#define JEQ_IMM(DST, IMM, OFF) INSN(BPF_JMP | BPF_JEQ | BPF_K, DST, 0, OFF, IMM)
#define CALL(ID) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, ID)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static char verifier_log[1 << 20];

/* Loads a BPF_TRACE_ITER program for the FUNC bpf_iter_<target>. */
static __attribute__((unused)) int load_iter_prog(const struct btf *b, const char *target, const struct bpf_insn *insns,
                          size_t n) {
  char fn[128];
  snprintf(fn, sizeof(fn), "bpf_iter_%s", target);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_TRACING;
  attr.expected_attach_type = BPF_TRACE_ITER;
  attr.attach_btf_id = (uint32_t)btf_find(b, fn, BTF_KIND_FUNC);
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = (uint32_t)n;
  attr.license = (uint64_t)(uintptr_t)"GPL";
  attr.log_buf = (uint64_t)(uintptr_t)verifier_log;
  attr.log_size = sizeof(verifier_log);
  attr.log_level = 1;
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0) {
    fprintf(stderr, "%s\n", verifier_log);
    die("BPF_PROG_LOAD");
  }
  return fd;
}

/* BPF_LINK_CREATE for an iterator; map_fd < 0 means no parameters. */
static __attribute__((unused)) int create_iter_link(int prog_fd, int map_fd) {
  union bpf_iter_link_info info;
  memset(&info, 0, sizeof(info));
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.link_create.prog_fd = (uint32_t)prog_fd;
  attr.link_create.attach_type = BPF_TRACE_ITER;
  if (map_fd >= 0) {
    info.map.map_fd = (uint32_t)map_fd;
    attr.link_create.iter_info = (uint64_t)(uintptr_t)&info;
    attr.link_create.iter_info_len = sizeof(info);
  }
  int fd = (int)sys_bpf(BPF_LINK_CREATE, &attr);
  if (fd < 0) die("BPF_LINK_CREATE");
  return fd;
}

static __attribute__((unused)) int create_iter(int link_fd) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.iter_create.link_fd = (uint32_t)link_fd;
  int fd = (int)sys_bpf(BPF_ITER_CREATE, &attr);
  if (fd < 0) die("BPF_ITER_CREATE");
  return fd;
}

/* Reads an iterator fd to EOF in chunks of `chunk` bytes; returns the byte
 * count. EAGAIN (a long run of objects without output) is retried. */
static __attribute__((unused)) unsigned long long drain(int fd, char *buf, size_t chunk) {
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, chunk);
    if (n == 0) return total;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("read iterator");
    }
    total += (unsigned long long)n;
  }
}

#endif
