/**
 * mulberry32: a tiny, fast seeded PRNG. Deterministic random weights and test inputs draw from it,
 * so the same seed gives the same values on every machine.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  /** Uniform in [0, 1). */
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
