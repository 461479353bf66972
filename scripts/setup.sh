#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: pnpm, dependencies, the native
# addon and every package's build. With --test, also the Debian tools the
# cross-check tests call (bpftool, clang, llvm, busybox, strace), when running as root.
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

if [ "${1:-}" = "--test" ]; then
  missing=()
  command -v bpftool >/dev/null 2>&1 || missing+=(bpftool)
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  command -v llvm-objdump >/dev/null 2>&1 || missing+=(llvm)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  command -v busybox >/dev/null 2>&1 || missing+=(busybox-static) # test-vm's cpio test
  command -v strace >/dev/null 2>&1 || missing+=(strace) # iter's bpf-iter cat race test
  # iter's and syscall's namespace tests: ip netns, ss, unshare
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v ss >/dev/null 2>&1 || missing+=(iproute2)
  command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing ${missing[*]}" >&2
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "setup: warning: ${missing[*]} missing; cross-check tests will fail" >&2
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
    mount -t bpf bpf /sys/fs/bpf || echo "setup: warning: could not mount bpffs" >&2
  fi
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm exec turbo run build --output-logs=errors-only >&2
