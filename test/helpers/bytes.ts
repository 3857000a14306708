// Deterministic pseudo-random bytes for tests: they do not compress, and the same seed gives
// the same bytes on every run.

/**
 * `n` pseudo-random bytes (a linear congruential generator; not for anything secret).
 * @param n - how many
 * @param seed - the generator's start
 * @returns the bytes
 */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
