#!/bin/busybox sh
# PID 1 of the test guest: mounts the kernel filesystems, loads the modules the
# 9p share needs, mounts the repository (read-only, with a tmpfs overlay so
# tools may write caches), runs the guest runner, and powers off.
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
. /etc/ts-ebpf-vm.env

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname ts-ebpf-vm
# Loopback up, as on any machine: its ::1 and 127.0.0.1 routes are what the ipv6_route and socket
# built-ins' tests compare with /proc.
ip link set lo up 2>/dev/null || ifconfig lo up

# Machine-readable events go to the second serial port, one JSON per line.
CHANNEL=/dev/ttyS1
stty -F "$CHANNEL" raw -echo 2>/dev/null
emit() { echo "$1" > "$CHANNEL"; }
fatal() {
  echo "ts-ebpf-vm: $1" >&2
  emit "{\"ev\":\"fatal\",\"message\":\"$1\"}"
  poweroff -f
}

emit "{\"ev\":\"boot\",\"uptime\":$(cut -d' ' -f1 /proc/uptime),\"release\":\"$(uname -r)\"}"

for m in $MODULES; do
  insmod "/lib/modules/$RELEASE/$m.ko" || fatal "insmod $m failed"
done
# Modules some tests use: one that does not load leaves those tests to skip.
for m in ${OPTIONAL_MODULES:-}; do
  insmod "/lib/modules/$RELEASE/$m.ko" 2>/dev/null || echo "ts-ebpf-vm: optional module $m did not load" >&2
done

MODE=run
CONFIG=
EXEC=
OUT=
CACHE=loose
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    tsebpf.mode=*) MODE="${arg#tsebpf.mode=}" ;;
    tsebpf.config=*) CONFIG="${arg#tsebpf.config=}" ;;
    tsebpf.9pcache=*) CACHE="${arg#tsebpf.9pcache=}" ;;
    tsebpf.exec=*) EXEC="${arg#tsebpf.exec=}" ;;
    tsebpf.out=1) OUT=/mnt/out ;;
  esac
done

mkdir -p /mnt/repo-ro /mnt/overlay "$REPO"
# Large messages make big reads few, but before 6.0 the 9p client gives every
# request, an open or a stat too, two buffers of the full msize: on 5.10 under
# TCG an open cost 15 ms at 512000 and 2 ms at 16384 (its kernel tests ran 9%
# faster), so older kernels get small messages.
case "$(uname -r)" in
  [1-5].*) MSIZE=16384 ;;
  *) MSIZE=512000 ;;
esac
mount -t 9p -o "trans=virtio,version=9p2000.L,ro,cache=$CACHE,msize=$MSIZE" repo /mnt/repo-ro \
  || fatal "mounting the 9p share failed"
mount -t tmpfs tmpfs /mnt/overlay
mkdir -p /mnt/overlay/upper /mnt/overlay/work
if ! mount -t overlay overlay \
  -o lowerdir=/mnt/repo-ro,upperdir=/mnt/overlay/upper,workdir=/mnt/overlay/work "$REPO"; then
  echo "ts-ebpf-vm: overlay failed; the repository is read-only" >&2
  mount --bind /mnt/repo-ro "$REPO"
fi

export TS_EBPF_REQUIRE_KERNEL=1 TS_EBPF_REQUIRE_FEATURES=1 TS_EBPF_VM_CHANNEL="$CHANNEL" TS_EBPF_VM_REPO="$REPO"
# Node 22+ keeps the code it compiles for each module here, so every later node
# process (vitest's workers, each CLI a test spawns) skips compiling it again:
# under emulation a node start that loads the CLI costs 20-40 s. Node 20 ignores it.
export NODE_COMPILE_CACHE=/tmp/node-compile-cache
# Before 5.11 BPF maps and programs are charged to RLIMIT_MEMLOCK, 64 KiB by
# default (a busybox init sets no other): map creation fails with EPERM after a
# few maps. Raise it as libbpf's tools and systemd-started services do.
ulimit -l unlimited
if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  mount -t 9p -o "trans=virtio,version=9p2000.L,msize=$MSIZE" out "$OUT" \
    || fatal "mounting the output share failed"
  export TS_EBPF_VM_OUT="$OUT"
fi
cd "$REPO"

if [ "$MODE" = exec ]; then
  # The host reads the command's output from the console, and its status from the last line.
  echo "$EXEC" | base64 -d > /tmp/exec.sh
  sh /tmp/exec.sh
  echo "ts-ebpf-vm: exit $?"
  sync
  poweroff -f
fi

if [ "$MODE" = shell ]; then
  echo "ts-ebpf-vm: kernel $(uname -r); repository at $REPO; 'poweroff -f' (or exit) to quit"
  setsid cttyhack sh -l
  poweroff -f
fi

emit "{\"ev\":\"init-done\",\"uptime\":$(cut -d' ' -f1 /proc/uptime)}"
node "$REPO/test-vm/dist/guest/runner.js" "$CONFIG"
emit "{\"ev\":\"runner-exit\",\"code\":$?}"
sync
poweroff -f
