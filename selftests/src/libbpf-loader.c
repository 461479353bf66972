// The reference side of the selftest runner: loads one program of a BPF
// object with libbpf (the others' autoload off), attaches it as an iterator
// with the link parameters asked for, writes the iterator's output to stdout
// and the object's global data sections (.bss, .data) as
// "global <section> <hex>" lines to stderr.
//
//   libbpf-loader <object.o> <program> [--map-elem [--fill N]] [--pid N]
//                 [--cgroup-id N --order pre|post|up|self]
//
// --map-elem: the link's map is the object's map, first by name, of a type
// the program's target walks (bpf_map_elem: hash, array and their per-CPU
// and LRU kinds; bpf_sk_storage_map: sk storage; sockmap: sockmap,
// sockhash); with none, a hash map (4-byte key, 8-byte value, 8 entries) made
// here. --fill N puts N elements in it before the walk: key i (little endian,
// zero padded), value byte j = (16 * (i + 1) + j) & 0xff (every CPU's copy
// for per-CPU maps). The ts-ebpf loader follows the same rules.
// Exit 1: libbpf refused the object or program (its message on stderr).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *target_of(struct bpf_program *prog) {
  const char *sec = bpf_program__section_name(prog);
  const char *slash = strchr(sec, '/');
  return slash ? slash + 1 : sec;
}

static int walks(const char *target, enum bpf_map_type t) {
  if (!strcmp(target, "bpf_map_elem"))
    return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
           t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_HASH ||
           t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  if (!strcmp(target, "bpf_sk_storage_map")) return t == BPF_MAP_TYPE_SK_STORAGE;
  if (!strcmp(target, "sockmap")) return t == BPF_MAP_TYPE_SOCKMAP || t == BPF_MAP_TYPE_SOCKHASH;
  return 0;
}

static int percpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int fill(int fd, enum bpf_map_type type, unsigned key_size, unsigned value_size, int n) {
  int cpus = percpu(type) ? libbpf_num_possible_cpus() : 1;
  size_t stride = percpu(type) ? (value_size + 7) / 8 * 8 : value_size;
  unsigned char *key = calloc(1, key_size + 4), *value = calloc(cpus, stride);
  for (int i = 0; i < n; i++) {
    memset(key, 0, key_size + 4);
    for (int b = 0; b < 4; b++) key[b] = (unsigned)i >> (8 * b);
    for (int c = 0; c < cpus; c++)
      for (size_t j = 0; j < value_size; j++) value[c * stride + j] = (16 * (i + 1) + j) & 0xff;
    if (bpf_map_update_elem(fd, key, value, 0)) {
      fprintf(stderr, "error: filling the map: element %d refused\n", i);
      return -1;
    }
  }
  free(key);
  free(value);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <object.o> <program> [options]\n", argv[0]);
    return 2;
  }
  int map_elem = 0, fill_n = 0;
  long long pid = -1, cgroup_id = -1;
  const char *order = NULL;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--map-elem")) map_elem = 1;
    else if (!strcmp(argv[i], "--fill") && i + 1 < argc) fill_n = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--pid") && i + 1 < argc) pid = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--cgroup-id") && i + 1 < argc) cgroup_id = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--order") && i + 1 < argc) order = argv[++i];
    else {
      fprintf(stderr, "error: unknown option %s\n", argv[i]);
      return 2;
    }
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
  union bpf_iter_link_info info;
  memset(&info, 0, sizeof info);
  LIBBPF_OPTS(bpf_iter_attach_opts, opts);
  int own_map = -1;
  if (map_elem) {
    const char *target = target_of(chosen);
    struct bpf_map *map, *pick = NULL;
    bpf_object__for_each_map(map, obj) {
      if (bpf_map__is_internal(map) || !walks(target, bpf_map__type(map))) continue;
      if (!pick || strcmp(bpf_map__name(map), bpf_map__name(pick)) < 0) pick = map;
    }
    int fd;
    enum bpf_map_type type;
    unsigned key_size, value_size;
    if (pick) {
      fd = bpf_map__fd(pick);
      type = bpf_map__type(pick);
      key_size = bpf_map__key_size(pick);
      value_size = bpf_map__value_size(pick);
    } else {
      fd = own_map = bpf_map_create(BPF_MAP_TYPE_HASH, "selftest", 4, 8, 8, NULL);
      type = BPF_MAP_TYPE_HASH;
      key_size = 4;
      value_size = 8;
      if (fd < 0) {
        fprintf(stderr, "error: map create failed\n");
        return 1;
      }
    }
    if (fill_n > 0 && fill(fd, type, key_size, value_size, fill_n)) return 1;
    info.map.map_fd = fd;
  } else if (pid >= 0) {
    info.task.pid = (unsigned)pid;
  } else if (cgroup_id >= 0) {
    info.cgroup.cgroup_id = (unsigned long long)cgroup_id;
    info.cgroup.order = !order || !strcmp(order, "pre") ? BPF_CGROUP_ITER_DESCENDANTS_PRE
                        : !strcmp(order, "post")        ? BPF_CGROUP_ITER_DESCENDANTS_POST
                        : !strcmp(order, "up")          ? BPF_CGROUP_ITER_ANCESTORS_UP
                                                        : BPF_CGROUP_ITER_SELF_ONLY;
  }
  if (map_elem || pid >= 0 || cgroup_id >= 0) {
    opts.link_info = &info;
    opts.link_info_len = sizeof info;
  }
  struct bpf_link *link = bpf_program__attach_iter(chosen, &opts);
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
  if (own_map >= 0) close(own_map);
  bpf_object__close(obj);
  return 0;
}
