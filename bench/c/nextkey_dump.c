/* (c) BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM per element, the classic way.
 * usage: nextkey_dump <map> <repetitions> */
#include "common.h"

/* Walks at most `limit` elements (the warm-up needs only a part of the map). */
static unsigned long long dump_once(int map_fd, unsigned long long limit) {
  union bpf_attr attr;
  uint32_t key = 0, next = 0;
  uint64_t value = 0, sum = 0;
  unsigned long long n = 0;
  int first = 1;
  while (n < limit) {
    memset(&attr, 0, sizeof(attr));
    attr.map_fd = (uint32_t)map_fd;
    attr.key = first ? 0 : (uint64_t)(uintptr_t)&key;
    attr.next_key = (uint64_t)(uintptr_t)&next;
    if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr) < 0) {
      if (errno == ENOENT) break;
      die("BPF_MAP_GET_NEXT_KEY");
    }
    memset(&attr, 0, sizeof(attr));
    attr.map_fd = (uint32_t)map_fd;
    attr.key = (uint64_t)(uintptr_t)&next;
    attr.value = (uint64_t)(uintptr_t)&value;
    if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr) < 0) die("BPF_MAP_LOOKUP_ELEM");
    sum += value;
    key = next;
    first = 0;
    n++;
  }
  if (sum == 0 && n > 0) fail("all values zero");
  return n;
}

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: nextkey_dump <map> <repetitions>");
  int map_fd = open_map(argv[1]);
  int reps = atoi(argv[2]);
  dump_once(map_fd, 100000);
  for (int r = 0; r < reps; r++) {
    struct stopwatch t0 = sw_start();
    unsigned long long n = dump_once(map_fd, ~0ULL);
    report(sw_elapsed(t0), n);
  }
  return 0;
}
