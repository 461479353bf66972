#!/usr/bin/env bash
# Checks that the README's two contributor commands pass on a fresh Debian 12 machine that
# has only what a new machine of this kind has (Node 20 with npm, python3, make, g++), as
# root: a debootstrap'd bookworm root, a fresh clone of this repository's committed HEAD
# at /srv/ts-ebpf inside it, then `npm run demo` and `npm test` in it as root with CI's
# settings (TS_EBPF_REQUIRE_KERNEL=1, HOSTILE_SEED=41). Whatever the tests call beyond
# that (bpftool, clang, iproute2, busybox, prometheus, ...) must come from scripts/setup.sh.
#
#   sudo scripts/fresh-machine-check.sh [ROOT]     ROOT defaults to /srv/fresh-debian
#
# ROOT is deleted and made again. Node, npm, corepack and Node's headers are copied from this
# host (/usr/bin/node, /usr/lib/node_modules/{npm,corepack}, /usr/include/node), with npm's
# global and root's config (npm builds addons against /usr, as on a new machine of this kind)
# and the host's CA bundle (the registries are reached through the host's TLS proxy).
#
# What the script adds that a real machine has by itself (and nothing else):
# - /etc/hosts (localhost) and /etc/resolv.conf, which debootstrap does not write;
# - the host's apt sources and /etc/apt/apt.conf.d/99* (this kind's image: Check-Valid-Until off
#   for its Debian mirror), where debootstrap writes a bare sources.list;
# - mounts, all in a private mount namespace (unshare -m) so none outlives the run or touches
#   the host: the root bind-mounted onto itself, a fresh proc, the host's /sys (kernel BTF,
#   cgroups) with its bpffs unmounted so that setup.sh mounts a fresh one as on a machine
#   without it, /dev with /dev/pts and /dev/shm, and an empty tmpfs on /run (`ip netns` keeps
#   its files there);
# - the root made the namespace's root mount with pivot_root, as a container's is, not a
#   chroot: in a chroot, /proc/<pid>/exe reads relative to the chroot while a BPF walk of
#   dentries and mounts (iter's processes().exe) reaches the namespace's real root, so a test
#   comparing the two fails only there; and `ip netns exec` remounts / as a slave, which needs
#   / to be a mount point.
# The clone is at /srv/ts-ebpf, not under /root: the least-privilege tests drop to uid 65534,
# which must be able to read the repository.
#
# The README's commands are typed as root, as the script runs them (a root-only machine of this
# kind has no sudo).
#
# Every step prints its start as "== fresh: HH:MM:SS (+N s): step"; the end prints each
# command's exit code and duration. Exit code 0 when both commands pass.
set -euo pipefail

if [ "${1:-}" = "--inside" ]; then
  # Second stage: inside the private mount namespace made below.
  root=$2
  t0=$3
  [ -n "$root" ] && [ "$root" != / ] && [ -d "$root/srv/ts-ebpf" ] || exit 1
  step() { printf '== fresh: %s (+%d s): %s\n' "$(date -u +%H:%M:%S)" $(($(date +%s) - t0)) "$*"; }
  step "mounts: root onto itself, proc, sys (without bpffs), dev, run"
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  if mountpoint -q "$root/sys/fs/bpf"; then umount "$root/sys/fs/bpf"; fi
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  step "pivot_root into $root; the host's tree is unmounted from this namespace"
  cd "$root"
  pivot_root . mnt
  cd /
  umount -l /mnt
  step "the machine's own packages: python3, make, g++ (as on a new machine of this kind)"
  /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null'
  in_root() {
    /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
      TS_EBPF_REQUIRE_KERNEL=1 HOSTILE_SEED=41 \
      bash -c "cd /srv/ts-ebpf && $1"
  }
  step "in the root: what is there before the set-up"
  in_root 'for c in node npm pnpm g++ make python3 bpftool clang llvm-objdump ip ss strace busybox prometheus setpriv unshare qemu-system-x86_64 chromium sudo git; do
      printf "  %-20s %s\n" "$c" "$(command -v "$c" || echo absent)"; done
    echo "  node $(node --version), npm $(npm --version), $(dpkg-query -W -f=. | wc -c) Debian packages"
    echo "  /sys/fs/bpf: $(mountpoint -q /sys/fs/bpf && echo mounted || echo not mounted)"'
  declare -A rc dur
  for cmd in "npm run demo" "npm test"; do
    step "in the root: $cmd"
    s=$(date +%s)
    set +e
    in_root "$cmd"
    rc[$cmd]=$?
    set -e
    dur[$cmd]=$(($(date +%s) - s))
  done
  step "done"
  ok=0
  for cmd in "npm run demo" "npm test"; do
    if [ "${rc[$cmd]}" = 0 ]; then r=passed; else r="FAILED (exit ${rc[$cmd]})"; ok=1; fi
    printf '== fresh: %s: %s in %d s\n' "$cmd" "$r" "${dur[$cmd]}"
  done
  exit $ok
fi

root=$(realpath -m "${1:-/srv/fresh-debian}")
repo=$(cd "$(dirname "$0")/.." && pwd)
t0=$(date +%s)
step() { printf '== fresh: %s (+%d s): %s\n' "$(date -u +%H:%M:%S)" $(($(date +%s) - t0)) "$*"; }

[ "$(id -u)" = 0 ] || {
  echo "fresh-machine-check: run as root (debootstrap, chroot, mounts, pivot_root)" >&2
  exit 1
}
case "$root" in / | /srv | /tmp | /usr | /root | /work)
  echo "fresh-machine-check: refusing ROOT=$root" >&2
  exit 1
  ;;
esac

step "host: debootstrap"
command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

step "clean root: $root"
if grep -q " $root[/ ]" /proc/mounts; then
  echo "fresh-machine-check: something is mounted under $root; unmount it first" >&2
  exit 1
fi
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ] && [ ! -f "$root/etc/debian_version" ]; then
  echo "fresh-machine-check: $root is not empty and not a Debian root; refusing to delete it" >&2
  exit 1
fi
rm -rf --one-file-system "$root"

step "debootstrap --variant=minbase bookworm (log: $root.debootstrap.log)"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.debootstrap.log" 2>&1 ||
  {
    tail -20 "$root.debootstrap.log"
    exit 1
  }

step "the machine's apt sources and settings, resolv.conf, hosts"
# A machine of this kind reads Debian's archive through a mirror whose Release files may be past
# their Valid-Until; its image says so in /etc/apt/apt.conf.d (Check-Valid-Until "false"), and the
# test-vm and selftests private apt (sid's linux-source) inherit that. Copy both from the host.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  rm -f "$root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
else
  cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
fi
for f in /etc/apt/apt.conf.d/99*; do
  [ -f "$f" ] && cp "$f" "$root/etc/apt/apt.conf.d/"
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

step "Node $(node --version) and npm $(npm --version) from the host, with npm's config and the CA bundle"
cp -a /usr/bin/node "$root/usr/bin/node"
mkdir -p "$root/usr/lib/node_modules" "$root/usr/include" "$root/usr/etc" "$root/etc/ssl/certs"
cp -a /usr/lib/node_modules/npm /usr/lib/node_modules/corepack "$root/usr/lib/node_modules/"
cp -a /usr/include/node "$root/usr/include/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
ln -sf ../lib/node_modules/corepack/dist/corepack.js "$root/usr/bin/corepack"
[ -f /usr/etc/npmrc ] && cp /usr/etc/npmrc "$root/usr/etc/npmrc"
[ -f /root/.npmrc ] && cp /root/.npmrc "$root/root/.npmrc"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

step "fresh clone of $repo at /srv/ts-ebpf"
git clone -q --no-hardlinks "$repo" "$root/srv/ts-ebpf"
echo "  $(git -C "$root/srv/ts-ebpf" log --oneline -1)"

step "private mount namespace"
exec unshare -m --propagation private "$(realpath "$0")" --inside "$root" "$t0"
