/* (e) BPF_MAP_LOOKUP_ELEM, one syscall per call, over existing keys
 * 0..entries-1 in order. Items reported = calls.
 * usage: lookup_loop <map> <entries> <calls> <repetitions> */
#include "common.h"

int main(int argc, char **argv) {
  if (argc != 5) fail("usage: lookup_loop <map> <entries> <calls> <repetitions>");
  int map_fd = open_map(argv[1]);
  uint32_t entries = (uint32_t)strtoul(argv[2], NULL, 10);
  unsigned long calls = strtoul(argv[3], NULL, 10);
  int reps = atoi(argv[4]);
  union bpf_attr attr;
  uint32_t key = 0;
  uint64_t value = 0, sum = 0;
  for (int r = -1; r < reps; r++) { /* r == -1: warm-up, over at most 100,000 calls */
    unsigned long n = r < 0 && calls > 100000 ? 100000 : calls;
    struct stopwatch t0 = sw_start();
    for (unsigned long i = 0; i < n; i++) {
      key = (uint32_t)(i % entries);
      memset(&attr, 0, sizeof(attr));
      attr.map_fd = (uint32_t)map_fd;
      attr.key = (uint64_t)(uintptr_t)&key;
      attr.value = (uint64_t)(uintptr_t)&value;
      if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr) < 0) die("BPF_MAP_LOOKUP_ELEM");
      sum += value;
    }
    struct stopwatch dt = sw_elapsed(t0);
    if (r >= 0) report(dt, calls);
  }
  if (sum == 0) fail("all values zero");
  return 0;
}
