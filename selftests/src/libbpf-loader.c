// The reference side of the selftest runner: loads one program of a BPF
// object with libbpf (the others' autoload off), attaches it as an
// iterator, writes the iterator's output to stdout and the object's global
// data sections (.bss, .data) as "global <section> <hex>" lines to stderr.
// Exit 1: libbpf refused the object or program (its message on stderr).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <object.o> <program>\n", argv[0]);
    return 2;
  }
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) {
    fprintf(stderr, "error: open failed\n");
    return 1;
  }
  struct bpf_program *prog, *chosen = NULL;
  bpf_object__for_each_program(prog, obj) {
    int mine = strcmp(bpf_program__name(prog), argv[2]) == 0;
    bpf_program__set_autoload(prog, mine);
    if (mine) chosen = prog;
  }
  if (!chosen) {
    fprintf(stderr, "error: no program %s\n", argv[2]);
    return 1;
  }
  if (bpf_object__load(obj)) {
    fprintf(stderr, "error: load failed\n");
    return 1;
  }
  struct bpf_link *link = bpf_program__attach_iter(chosen, NULL);
  if (!link) {
    fprintf(stderr, "error: attach failed\n");
    return 1;
  }
  int iter = bpf_iter_create(bpf_link__fd(link));
  if (iter < 0) {
    fprintf(stderr, "error: iter create failed\n");
    return 1;
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(iter, buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
  if (n < 0) {
    fprintf(stderr, "error: read failed\n");
    return 1;
  }
  fflush(stdout);
  fprintf(stderr, "pid %d\n", (int)getpid());
  struct bpf_map *map;
  bpf_object__for_each_map(map, obj) {
    const char *name = bpf_map__name(map);
    const char *dot = strrchr(name, '.');
    if (!bpf_map__is_internal(map) || !dot || (strcmp(dot, ".bss") && strcmp(dot, ".data")))
      continue;
    size_t size = bpf_map__value_size(map);
    unsigned char *value = calloc(1, size);
    int zero = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, value) == 0) {
      fprintf(stderr, "global %s ", dot);
      for (size_t i = 0; i < size; i++) fprintf(stderr, "%02x", value[i]);
      fprintf(stderr, "\n");
    }
    free(value);
  }
  close(iter);
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
