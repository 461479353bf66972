#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: pnpm, dependencies, the native
# addon and every package's build. As root on Debian it installs what is missing:
# g++, make and python3 for the addon, and with --test every tool the tests call
# (bpftool, clang, llvm, util-linux, busybox, strace, iproute2, prometheus); with --vm
# those and QEMU (pnpm test:vm); with --bench what the benchmark suite runs (pnpm bench);
# with --site the browser the site's test drives (pnpm docs:test).
set -euo pipefail
cd "$(dirname "$0")/.."

want_pnpm=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  echo "setup: installing pnpm $want_pnpm" >&2
  export COREPACK_INTEGRITY_KEYS=0
  if ! { corepack enable pnpm && corepack prepare "pnpm@$want_pnpm" --activate; } >/dev/null 2>&1; then
    npm install --global --no-audit --no-fund "pnpm@$want_pnpm" >/dev/null
  fi
fi

# node-gyp would download Node's headers; use the installed ones instead.
if [ -z "${npm_config_nodedir:-}" ]; then
  for d in /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
    if [ -f "$d/include/node/node_api.h" ]; then export npm_config_nodedir="$d"; break; fi
  done
fi

# Debian packages. Always: what building the native addon from source needs (the
# repository has no prebuilds; a published @ts-ebpf/syscall does). With --test: every
# tool a test calls, so a fresh Debian machine with only Node and npm passes `npm test`.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need g++ g++
need make make
need python3 python3
# --vm (pnpm test:vm): what --test needs (the guests run the same tests, and the kernel
# selftests are compiled on the host for them), and QEMU.
if [ "${1:-}" = "--vm" ]; then
  need qemu-system-x86_64 qemu-system-x86
  set -- --test
fi
# --site (pnpm docs:test): Debian's chromium, which the site's browser test drives.
if [ "${1:-}" = "--site" ]; then
  need chromium chromium
fi
# --bench (pnpm bench): what the suite runs beside its own code: gcc for the C references,
# ip and ss (netns, tcp-scale), ps (cli-ps), and the two exporters the exporters scenario
# scrapes against bpf-iter serve (without them those variants say 'not installed').
if [ "${1:-}" = "--bench" ]; then
  need gcc gcc
  need ip iproute2
  need ss iproute2
  need ps procps
  need prometheus-node-exporter prometheus-node-exporter
  need prometheus-process-exporter prometheus-process-exporter
fi
if [ "${1:-}" = "--test" ]; then
  need bpftool bpftool
  need clang clang
  need llvm-objdump llvm
  need setpriv util-linux
  need busybox busybox-static # test-vm's cpio test
  need strace strace # iter's bpf-iter cat race test
  # iter's and syscall's namespace tests: ip netns, ss, unshare
  need ip iproute2
  need ss iproute2
  need unshare util-linux
  need prometheus prometheus # the exporter's scrape test against a real Prometheus
  # the kernel selftests runner (selftests/src/run.mjs; pnpm test:vm runs it for each guest
  # kernel before booting it): its reference loader (libbpf-loader.c, built static with gcc
  # and libbpf-dev, which brings libelf-dev and zlib1g-dev); Debian's linux-source-*.tar.xz
  # unpacked with tar -xJ (a minbase Debian has no xz), fetched with apt-get download
  # through test-vm's private apt, which trusts Debian's keyring; the programs compiled with
  # clang (above) against bpftool's vmlinux.h, the source's bpf_helper_defs.h made by its
  # scripts/bpf_doc.py with python3 (above)
  need gcc gcc
  [ -f /usr/include/bpf/libbpf.h ] && [ -f /usr/lib/x86_64-linux-gnu/libbpf.a ] || missing+=(libbpf-dev)
  need xz xz-utils
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: ${missing[*]} missing (as root on Debian, setup installs them); the addon build or tests needing them will fail" >&2
  fi
fi
# The least-privilege tests run the repository's code as uid 65534 (setpriv): a clone under
# /root or a 0700 home cannot be read by that user, and those tests then fail.
if [ "${1:-}" = "--test" ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
  ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r package.json 2>/dev/null; then
  echo "setup: warning: uid 65534 cannot read $(pwd) (a parent directory is not searchable by others);" \
    "the least-privilege tests will fail: clone under a world-searchable path such as /srv or /tmp" >&2
fi
if [ "${1:-}" = "--test" ] && [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
  mount -t bpf bpf /sys/fs/bpf || echo "setup: warning: could not mount bpffs" >&2
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm exec turbo run build --output-logs=errors-only >&2
