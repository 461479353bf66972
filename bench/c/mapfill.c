/* Creates a BPF_MAP_TYPE_HASH (u32 key -> u64 value) with exactly N entries,
 * fills it with BPF_MAP_UPDATE_BATCH (key i -> value i * 3 + 1) and pins it,
 * so that every variant of a scenario dumps the very same map.
 * usage: mapfill <pin path> <entries> */
#include "common.h"

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: mapfill <pin path> <entries>");
  const char *path = argv[1];
  uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
  if (n == 0) fail("entries must be > 0");

  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_HASH;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = n;
  strncpy(attr.map_name, "bench_hash", sizeof(attr.map_name) - 1);
  int map_fd = (int)sys_bpf(BPF_MAP_CREATE, &attr);
  if (map_fd < 0) die("BPF_MAP_CREATE");

  const uint32_t batch = 65536;
  uint32_t *keys = malloc(batch * sizeof(*keys));
  uint64_t *values = malloc(batch * sizeof(*values));
  for (uint32_t start = 0; start < n; start += batch) {
    uint32_t count = n - start < batch ? n - start : batch;
    for (uint32_t i = 0; i < count; i++) {
      keys[i] = start + i;
      values[i] = (uint64_t)(start + i) * 3 + 1;
    }
    memset(&attr, 0, sizeof(attr));
    attr.batch.map_fd = (uint32_t)map_fd;
    attr.batch.keys = (uint64_t)(uintptr_t)keys;
    attr.batch.values = (uint64_t)(uintptr_t)values;
    attr.batch.count = count;
    if (sys_bpf(BPF_MAP_UPDATE_BATCH, &attr) < 0) die("BPF_MAP_UPDATE_BATCH");
    if (attr.batch.count != count) fail("short BPF_MAP_UPDATE_BATCH");
  }

  unlink(path);
  memset(&attr, 0, sizeof(attr));
  attr.pathname = (uint64_t)(uintptr_t)path;
  attr.bpf_fd = (uint32_t)map_fd;
  if (sys_bpf(BPF_OBJ_PIN, &attr) < 0) die("BPF_OBJ_PIN");
  printf("pinned %s %u\n", path, n);
  return 0;
}
