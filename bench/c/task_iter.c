/* (d) A task iterator listing every task: one 24-byte record per task
 * (u32 pid, u32 tgid, char comm[16]) written with bpf_seq_write. Each timed
 * repetition includes program load, link creation and the reads.
 * usage: task_iter <chunk bytes> <repetitions>
 *
 * With a pinned link (tasks()' own program, pinned by the suite) it reads
 * that link as tasks() warm does: each timed repetition creates an iterator
 * fd, reads it to the end into one buffer and visits every record (every
 * 32-bit word folded into a checksum, as a decoder loads every field). The
 * same program and the same kernel work as tasks(): what is left between
 * them is what TypeScript costs.
 * usage: task_iter <chunk bytes> <repetitions> <pinned link> <record bytes> */
#include "common.h"

static unsigned long long checksum;

/* Reads a whole iterator fd into *buf (grown as needed) and folds every
 * 32-bit word of every record; returns the number of records. */
static unsigned long long read_and_visit(int iter_fd, char **buf, size_t *cap, size_t chunk,
                                         size_t record) {
  size_t used = 0;
  for (;;) {
    if (*cap - used < chunk) {
      *cap *= 2;
      *buf = realloc(*buf, *cap);
      if (!*buf) fail("out of memory");
    }
    ssize_t n = read(iter_fd, *buf + used, chunk);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("read iterator");
    }
    used += (size_t)n;
  }
  if (used % record != 0) fail("iterator output is not whole records");
  uint32_t sum = 0;
  for (size_t off = 0; off < used; off += 4) {
    uint32_t word;
    memcpy(&word, *buf + off, 4);
    sum += word;
  }
  checksum += sum;
  return used / record;
}

static int pinned_link(const char *path, size_t chunk, int reps, size_t record) {
  if (record == 0 || record % 4 != 0) fail("record bytes must be a positive multiple of 4");
  int link_fd = open_map(path); /* BPF_OBJ_GET: a pinned link as well as a map */
  size_t cap = chunk * 4;
  char *buf = malloc(cap);
  if (!buf) fail("out of memory");
  for (int r = -1; r < reps; r++) { /* r == -1: warm-up */
    struct stopwatch t0 = sw_start();
    int iter_fd = create_iter(link_fd);
    unsigned long long count = read_and_visit(iter_fd, &buf, &cap, chunk, record);
    close(iter_fd);
    struct stopwatch dt = sw_elapsed(t0);
    if (r >= 0) report(dt, count);
  }
  if (checksum == 42) fprintf(stderr, "(checksum)\n"); /* keeps the loop */
  close(link_fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5)
    fail("usage: task_iter <chunk bytes> <repetitions> [<pinned link> <record bytes>]");
  size_t chunk = strtoul(argv[1], NULL, 10);
  int reps = atoi(argv[2]);
  if (chunk == 0) fail("bad chunk size");
  if (argc == 5) return pinned_link(argv[3], chunk, reps, strtoul(argv[4], NULL, 10));
  char *buf = malloc(chunk);
  if (!buf) fail("bad chunk size");
  static struct btf b;
  btf_load(&b, "/sys/kernel/btf/vmlinux");
  short meta = (short)btf_struct_member(&b, "bpf_iter__task", "meta");
  short task = (short)btf_struct_member(&b, "bpf_iter__task", "task");
  short seq = (short)btf_struct_member(&b, "bpf_iter_meta", "seq");
  short pid = (short)btf_struct_member(&b, "task_struct", "pid");
  short tgid = (short)btf_struct_member(&b, "task_struct", "tgid");
  short comm = (short)btf_struct_member(&b, "task_struct", "comm");
  const struct bpf_insn prog[] = {
      LDX64(BPF_REG_6, BPF_REG_1, meta),
      LDX64(BPF_REG_7, BPF_REG_1, task),
      JEQ_IMM(BPF_REG_7, 0, 13), /* the final call has a NULL task */
      LDX32(BPF_REG_2, BPF_REG_7, pid),
      STX32(BPF_REG_10, BPF_REG_2, -24),
      LDX32(BPF_REG_2, BPF_REG_7, tgid),
      STX32(BPF_REG_10, BPF_REG_2, -20),
      LDX64(BPF_REG_2, BPF_REG_7, comm),
      STX64(BPF_REG_10, BPF_REG_2, -16),
      LDX64(BPF_REG_2, BPF_REG_7, (short)(comm + 8)),
      STX64(BPF_REG_10, BPF_REG_2, -8),
      LDX64(BPF_REG_1, BPF_REG_6, seq),
      MOV64_REG(BPF_REG_2, BPF_REG_10),
      ADD64_IMM(BPF_REG_2, -24),
      MOV64_IMM(BPF_REG_3, 24),
      CALL(BPF_FUNC_seq_write),
      MOV64_IMM(BPF_REG_0, 0),
      EXIT(),
  };
  for (int r = -1; r < reps; r++) { /* r == -1: warm-up */
    struct stopwatch t0 = sw_start();
    int prog_fd = load_iter_prog(&b, "task", prog, sizeof(prog) / sizeof(prog[0]));
    int link_fd = create_iter_link(prog_fd, -1);
    int iter_fd = create_iter(link_fd);
    unsigned long long bytes = drain(iter_fd, buf, chunk);
    close(iter_fd);
    close(link_fd);
    close(prog_fd);
    struct stopwatch dt = sw_elapsed(t0);
    if (r >= 0) report(dt, bytes / 24);
  }
  return 0;
}
