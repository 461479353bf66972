/* The C counterpart of parseBtf: index every type of vmlinux BTF already read
 * into memory (walk the type section once, recording where each type starts).
 * Items reported = types.
 * usage: btf_parse <repetitions> */
#include "common.h"

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: btf_parse <repetitions>");
  int reps = atoi(argv[1]);
  struct btf b;
  memset(&b, 0, sizeof(b));
  read_file("/sys/kernel/btf/vmlinux", &b.data);
  for (int r = -1; r < reps; r++) { /* r == -1: warm-up */
    struct stopwatch t0 = sw_start();
    btf_index(&b);
    struct stopwatch dt = sw_elapsed(t0);
    free(b.types);
    if (r >= 0) report(dt, b.nr - 1);
  }
  return 0;
}
