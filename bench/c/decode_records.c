/* The decode-only reference (issue 17): the records of a u32 -> u64 map dump
 * (key then value, 12 bytes, as mapElems' program writes them), captured once
 * into a file, read back like an iterator's output (one buffer sized for the
 * whole dump, filled by read()s of <chunk bytes>) and every element visited:
 * key and value loaded and folded into a checksum. On a kernel that refuses
 * bpf_map_elem programs this stands in for the dump, the kernel's side
 * replaced by the page cache: TypeScript reads the same file the same way.
 * usage: decode_records <records file> <chunk bytes> <repetitions> */
#include "common.h"

static unsigned long long checksum;

static unsigned long long decode_once(const char *path, char *buf, size_t size, size_t chunk) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open records file");
  size_t used = 0;
  for (;;) {
    size_t want = size - used < chunk ? size - used : chunk;
    if (want == 0) break;
    ssize_t n = read(fd, buf + used, want);
    if (n < 0) die("read records file");
    if (n == 0) break;
    used += (size_t)n;
  }
  close(fd);
  unsigned long long count = used / 12, sum = 0;
  for (size_t off = 0; off + 12 <= used; off += 12) {
    uint32_t key;
    uint64_t value;
    memcpy(&key, buf + off, 4);
    memcpy(&value, buf + off + 4, 8);
    sum += key ^ value;
  }
  checksum += sum;
  return count;
}

int main(int argc, char **argv) {
  if (argc != 4) fail("usage: decode_records <records file> <chunk bytes> <repetitions>");
  struct stat st;
  if (stat(argv[1], &st) != 0) die("stat records file");
  size_t size = (size_t)st.st_size;
  size_t chunk = strtoul(argv[2], NULL, 10);
  int reps = atoi(argv[3]);
  if (chunk == 0) fail("bad chunk size");
  char *buf = malloc(size ? size : 1);
  if (!buf) fail("out of memory");
  decode_once(argv[1], buf, size, chunk); /* warm-up */
  for (int r = 0; r < reps; r++) {
    struct stopwatch t0 = sw_start();
    unsigned long long count = decode_once(argv[1], buf, size, chunk);
    report(sw_elapsed(t0), count);
  }
  if (checksum == 42) fprintf(stderr, "(checksum)\n"); /* keeps the loop */
  return 0;
}
