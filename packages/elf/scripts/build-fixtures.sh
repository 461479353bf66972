#!/usr/bin/env bash
# Compiles the C fixtures in test/fixtures with Debian's clang, against a
# vmlinux.h generated from the running kernel's BTF. The .o files are
# committed (CO-RE makes them load on other kernels); vmlinux.h is not.
set -euo pipefail
cd "$(dirname "$0")/../test/fixtures"
BTF=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
bpftool btf dump file "$BTF" format c > vmlinux.h
CLANG=${CLANG:-clang}
for src in *.bpf.c; do
  obj="${src%.c}.o"
  "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_x86 -I. -c "$src" -o "$obj"
  # DWARF is not needed (.BTF and .BTF.ext carry types and line info): 600 KiB -> a few KiB.
  "${STRIP:-llvm-strip}" -g "$obj"
  echo "built $obj"
done
