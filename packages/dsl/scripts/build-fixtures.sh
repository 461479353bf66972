#!/bin/sh
# Compiles the BPF C fixtures in test/fixtures with clang for cpu v3 and v4 and
# records llvm-objdump's listing beside each object. The unit test compares
# our disassembler with these listings. Needs clang/llvm >= 18 (for -mcpu=v4):
# on Debian 12, `apt-get install clang-19 llvm-19`.
set -eu
cd "$(dirname "$0")/../test/fixtures"
CLANG=${CLANG:-$(command -v clang-19 || command -v clang)}
OBJDUMP=${OBJDUMP:-$(command -v llvm-objdump-19 || command -v llvm-objdump)}
for src in *.c; do
  name=${src%.c}
  for cpu in v3 v4; do
    "$CLANG" -target bpf -O2 -mcpu=$cpu -g0 -c "$src" -o "$name.$cpu.o"
    # Drop the header line naming the file: it would differ between checkouts.
    "$OBJDUMP" -d "$name.$cpu.o" > "$name.$cpu.objdump.tmp"
    sed 1,2d "$name.$cpu.objdump.tmp" > "$name.$cpu.objdump"
    rm "$name.$cpu.objdump.tmp"
  done
done
"$CLANG" --version | head -1 > TOOLCHAIN
echo "fixtures built with $("$CLANG" --version | head -1)"
