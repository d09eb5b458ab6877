import { describe, expect, it } from 'vitest';
import { imagePositionIds, rotaryTables } from '../../src/flux/rope.ts';

describe('RoPE tables (host, float64 rounded once)', () => {
  it('rotate pair j of axis i by id_i * theta^(-2j/dim), axes in order, at the largest grid', () => {
    const [height, width] = [2, 256];
    const axesDim = [16, 56, 56];
    const tokens = height * width;
    const { cos, sin } = rotaryTables(imagePositionIds(height, width), axesDim, 10_000);
    expect([cos.length, sin.length]).toEqual([tokens * 64, tokens * 64]);
    let worst = 0;
    for (let n = 0; n < tokens; n++) {
      const position = [0, Math.floor(n / width), n % width];
      let pair = 0;
      axesDim.forEach((dim, axis) => {
        for (let j = 0; j < dim / 2; j++, pair++) {
          const angle = position[axis]! * 10_000 ** ((-2 * j) / dim);
          worst = Math.max(
            worst,
            Math.abs(cos[n * 64 + pair]! - Math.cos(angle)),
            Math.abs(sin[n * 64 + pair]! - Math.sin(angle)),
          );
        }
      });
    }
    // Angles of up to 255 rad, computed in float64: only the float32 rounding of the tables is left.
    expect(worst).toBeLessThan(6e-8);
  });
});
