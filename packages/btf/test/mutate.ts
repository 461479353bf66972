// Seeded byte-level mutations for the fuzz test.
/** xorshift32: reproducible without a dependency. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const INTERESTING = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
];

export function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let b = src.slice();
  const v = () => new DataView(b.buffer);
  const n = 1 + (rnd() % 4);
  for (let i = 0; i < n; i++) {
    const op = rnd() % 6;
    const at = rnd() % b.length;
    switch (op) {
      case 0: // flip a bit
        b[at]! ^= 1 << (rnd() % 8);
        break;
      case 1: // random byte
        b[at] = rnd() & 0xff;
        break;
      case 2: // interesting u32 at an aligned word
        if (b.length >= 4)
          v().setUint32((at & ~3) % (b.length - 3), INTERESTING[rnd() % INTERESTING.length]!, true);
        break;
      case 3: // small type id / offset in a word (likely a reference)
        if (b.length >= 4) v().setUint32((at & ~3) % (b.length - 3), rnd() % 100, true);
        break;
      case 4: // truncate
        b = b.slice(0, at);
        break;
      case 5: // duplicate a chunk over another place
        b.copyWithin(at, rnd() % b.length, (rnd() % b.length) + 1);
        break;
    }
    if (b.length === 0) break;
  }
  return b;
}
