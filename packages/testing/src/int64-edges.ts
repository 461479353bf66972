// 64-bit values on both sides of 2^32 and 2^63, for tests of readers that
// take a faster path when the high word is 0 (spec's u64/i64 on V8 before 13)
// and the DataView getter otherwise.
export const U64_EDGES: readonly bigint[] = [
  0n,
  1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

export const I64_EDGES: readonly bigint[] = [
  0n,
  1n,
  2n ** 32n - 1n,
  2n ** 32n,
  -1n,
  -(2n ** 31n),
  -(2n ** 32n),
  -(2n ** 63n),
  2n ** 63n - 1n,
];
