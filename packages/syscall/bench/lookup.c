// Reference for bench/lookup.ts: N MAP_LOOKUP_ELEM calls on a hash map
// (u32 -> u64, 1024 entries) with a libbpf-sized attr (offsetofend flags).
// Usage: lookup N  → prints "ns_per_call <float>"
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ATTR_SIZE (offsetof(union bpf_attr, flags) + sizeof(((union bpf_attr *)0)->flags))

static long bpf(int cmd, union bpf_attr *attr, unsigned size) { return syscall(__NR_bpf, cmd, attr, size); }

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_HASH;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1024;
  int fd = bpf(BPF_MAP_CREATE, &attr, sizeof attr);
  if (fd < 0) { perror("BPF_MAP_CREATE"); return 1; }
  uint32_t key;
  uint64_t value;
  for (key = 0; key < 1024; key++) {
    value = key * 3ull;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = fd;
    attr.key = (uintptr_t)&key;
    attr.value = (uintptr_t)&value;
    if (bpf(BPF_MAP_UPDATE_ELEM, &attr, ATTR_SIZE) < 0) { perror("BPF_MAP_UPDATE_ELEM"); return 1; }
  }
  uint64_t sum = 0;
  for (int round = 0; round < 2; round++) {  // round 0 warms up
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      key = (uint32_t)(i & 1023);
      memset(&attr, 0, ATTR_SIZE);
      attr.map_fd = fd;
      attr.key = (uintptr_t)&key;
      attr.value = (uintptr_t)&value;
      if (bpf(BPF_MAP_LOOKUP_ELEM, &attr, ATTR_SIZE) < 0) { perror("BPF_MAP_LOOKUP_ELEM"); return 1; }
      sum += value;
    }
    double t1 = now_ns();
    if (round == 1) printf("ns_per_call %.1f\nchecksum %llu\n", (t1 - t0) / n, (unsigned long long)sum);
  }
  close(fd);
  return 0;
}
