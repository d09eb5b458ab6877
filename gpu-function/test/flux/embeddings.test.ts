import { describe, expect, it } from 'vitest';
import { MAX_PERIOD, TIME_FACTOR, timestepEmbedding } from '../../src/flux/embeddings.ts';

const f32 = Math.fround;

/** The reference's float32 arithmetic, step by step, with cos/sin of the rounded angle in float64. */
function float32Embedding(t: number, dim: number): number[] {
  const half = dim / 2;
  const scaled = f32(TIME_FACTOR * f32(t));
  const angles = Array.from({ length: half }, (_, j) =>
    f32(scaled * f32(Math.exp(f32(f32(f32(-Math.log(MAX_PERIOD)) * j) / half)))),
  );
  return [...angles.map(Math.cos), ...angles.map(Math.sin)];
}

describe('timestep embedding (host)', () => {
  it('matches the reference float32 computation for timesteps and guidance strengths', () => {
    const ts = [0, 0.001, 0.61, 1, 3.5, 10];
    const data = timestepEmbedding(ts, 256);
    expect(data.length).toBe(ts.length * 256);
    // t = 0: cos 0 = 1 in the first half, sin 0 = 0 in the second, exactly.
    expect(Array.from(data.subarray(0, 256))).toEqual([...new Array(128).fill(1), ...new Array(128).fill(0)]);
    let worst = 0;
    ts.forEach((t, b) => {
      float32Embedding(t, 256).forEach((v, i) => {
        worst = Math.max(worst, Math.abs(data[b * 256 + i]! - v));
      });
    });
    // Angles reach 10^4 rad (guidance 10): only float32 sin/cos rounding is left.
    expect(worst).toBeLessThan(2e-7);
  });
});
