/* (a) The reference: a bpf_map_elem iterator writing one 16-byte record per
 * element (u32 key, 4 bytes of zero padding, u64 value) with bpf_seq_write,
 * read in chunks. Each timed repetition includes program load, link creation,
 * BPF_ITER_CREATE and the reads.
 * With layout "12" the program is instead the one mapElems loads: two
 * bpf_seq_write calls per element, key (4 bytes) then value (8 bytes), so the
 * user-space side of mapElems can be compared with the kernel work held equal.
 * usage: iter_map_dump <map pin path|fd> <chunk bytes> <repetitions> [16|12] */
#include "common.h"

static const struct btf *vmlinux(void) {
  static struct btf b;
  if (!b.data) btf_load(&b, "/sys/kernel/btf/vmlinux");
  return &b;
}

static int record_size = 16;

static unsigned long long dump_once(int map_fd, char *buf, size_t chunk) {
  const struct btf *b = vmlinux();
  short meta = (short)btf_struct_member(b, "bpf_iter__bpf_map_elem", "meta");
  short key = (short)btf_struct_member(b, "bpf_iter__bpf_map_elem", "key");
  short value = (short)btf_struct_member(b, "bpf_iter__bpf_map_elem", "value");
  short seq = (short)btf_struct_member(b, "bpf_iter_meta", "seq");
  const struct bpf_insn prog[] = {
      LDX64(BPF_REG_6, BPF_REG_1, meta),
      LDX64(BPF_REG_7, BPF_REG_1, key),
      LDX64(BPF_REG_8, BPF_REG_1, value),
      JEQ_IMM(BPF_REG_7, 0, 10), /* the final call has NULL key/value */
      JEQ_IMM(BPF_REG_8, 0, 9),
      LDX32(BPF_REG_2, BPF_REG_7, 0), /* zero-extends: key + zero padding */
      STX64(BPF_REG_10, BPF_REG_2, -16),
      LDX64(BPF_REG_2, BPF_REG_8, 0),
      STX64(BPF_REG_10, BPF_REG_2, -8),
      LDX64(BPF_REG_1, BPF_REG_6, seq),
      MOV64_REG(BPF_REG_2, BPF_REG_10),
      ADD64_IMM(BPF_REG_2, -16),
      MOV64_IMM(BPF_REG_3, 16),
      CALL(BPF_FUNC_seq_write),
      MOV64_IMM(BPF_REG_0, 0),
      EXIT(),
  };
  const struct bpf_insn two_writes[] = {
      LDX64(BPF_REG_6, BPF_REG_1, meta),
      LDX64(BPF_REG_6, BPF_REG_6, seq),
      LDX64(BPF_REG_7, BPF_REG_1, key),
      LDX64(BPF_REG_8, BPF_REG_1, value),
      JEQ_IMM(BPF_REG_7, 0, 9),
      JEQ_IMM(BPF_REG_8, 0, 8),
      MOV64_REG(BPF_REG_1, BPF_REG_6),
      MOV64_REG(BPF_REG_2, BPF_REG_7),
      MOV64_IMM(BPF_REG_3, 4),
      CALL(BPF_FUNC_seq_write),
      MOV64_REG(BPF_REG_1, BPF_REG_6),
      MOV64_REG(BPF_REG_2, BPF_REG_8),
      MOV64_IMM(BPF_REG_3, 8),
      CALL(BPF_FUNC_seq_write),
      MOV64_IMM(BPF_REG_0, 0),
      EXIT(),
  };
  int prog_fd = record_size == 16
                    ? load_iter_prog(b, "bpf_map_elem", prog, sizeof(prog) / sizeof(prog[0]))
                    : load_iter_prog(b, "bpf_map_elem", two_writes,
                                     sizeof(two_writes) / sizeof(two_writes[0]));
  int link_fd = create_iter_link(prog_fd, map_fd);
  int iter_fd = create_iter(link_fd);
  unsigned long long bytes = drain(iter_fd, buf, chunk);
  close(iter_fd);
  close(link_fd);
  close(prog_fd);
  return bytes;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) fail("usage: iter_map_dump <map> <chunk bytes> <repetitions> [16|12]");
  if (argc == 5) record_size = atoi(argv[4]);
  if (record_size != 16 && record_size != 12) fail("record layout must be 16 or 12");
  int map_fd = open_map(argv[1]);
  size_t chunk = strtoul(argv[2], NULL, 10);
  int reps = atoi(argv[3]);
  char *buf = malloc(chunk);
  if (!buf || chunk == 0) fail("bad chunk size");
  vmlinux(); /* parsing BTF is the loader's job, not the dump's: kept out of the timing */
  dump_once(map_fd, buf, chunk); /* warm-up */
  for (int r = 0; r < reps; r++) {
    struct stopwatch t0 = sw_start();
    unsigned long long bytes = dump_once(map_fd, buf, chunk);
    report(sw_elapsed(t0), bytes / (unsigned long long)record_size);
  }
  return 0;
}
