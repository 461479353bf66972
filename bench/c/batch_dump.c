/* (b) BPF_MAP_LOOKUP_BATCH loop over a u32 -> u64 hash map.
 * usage: batch_dump <map> <repetitions> [batch size, default 4096] */
#include "common.h"

static unsigned long long dump_once(int map_fd, uint32_t *keys, uint64_t *values, uint32_t batch) {
  union bpf_attr attr;
  uint64_t token = 0;
  unsigned long long total = 0;
  int first = 1;
  for (;;) {
    memset(&attr, 0, sizeof(attr));
    attr.batch.map_fd = (uint32_t)map_fd;
    attr.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&token;
    attr.batch.out_batch = (uint64_t)(uintptr_t)&token;
    attr.batch.keys = (uint64_t)(uintptr_t)keys;
    attr.batch.values = (uint64_t)(uintptr_t)values;
    attr.batch.count = batch;
    long rc = sys_bpf(BPF_MAP_LOOKUP_BATCH, &attr);
    if (rc < 0 && errno != ENOENT) die("BPF_MAP_LOOKUP_BATCH");
    total += attr.batch.count;
    if (rc < 0) return total; /* ENOENT: no more elements */
    first = 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: batch_dump <map> <repetitions> [batch]");
  int map_fd = open_map(argv[1]);
  int reps = atoi(argv[2]);
  uint32_t batch = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 4096;
  uint32_t *keys = malloc(batch * sizeof(*keys));
  uint64_t *values = malloc(batch * sizeof(*values));
  dump_once(map_fd, keys, values, batch);
  for (int r = 0; r < reps; r++) {
    struct stopwatch t0 = sw_start();
    unsigned long long n = dump_once(map_fd, keys, values, batch);
    report(sw_elapsed(t0), n);
  }
  return 0;
}
