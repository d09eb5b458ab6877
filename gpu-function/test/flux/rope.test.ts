import { describe, expect, it } from 'vitest';
import { embedPositions, imagePositionIds, POSITION_AXES } from '../../src/flux/rope.ts';
import { Graph } from '../../src/graph/graph.ts';
import { createSession } from '../../src/graph/session.ts';

describe('RoPE tables (in the graph)', () => {
  it('rotate pair j of axis i by id_i * theta^(-2j/dim_i), axes in order, at the largest grid', async () => {
    const [height, width] = [2, 256];
    const axesDim = [16, 56, 56];
    const tokens = height * width;
    const g = new Graph('rope');
    const ids = g.input('ids', 'float32', [1, tokens, POSITION_AXES]);
    const pe = embedPositions(g, ids, axesDim, 10_000);
    g.output('cos', pe.cos);
    g.output('sin', pe.sin);
    const out = await (await createSession(g))({ ids: imagePositionIds(height, width) });
    expect(out.cos!.dims).toEqual([1, 1, tokens, 64, 1]);
    const [cos, sin] = [out.cos!.data as Float32Array, out.sin!.data as Float32Array];
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
