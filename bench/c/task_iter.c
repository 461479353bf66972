/* (d) A task iterator listing every task: one 24-byte record per task
 * (u32 pid, u32 tgid, char comm[16]) written with bpf_seq_write. Each timed
 * repetition includes program load, link creation and the reads.
 * usage: task_iter <chunk bytes> <repetitions> */
#include "common.h"

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: task_iter <chunk bytes> <repetitions>");
  size_t chunk = strtoul(argv[1], NULL, 10);
  int reps = atoi(argv[2]);
  char *buf = malloc(chunk);
  if (!buf || chunk == 0) fail("bad chunk size");
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
