import { describe, expect, it } from 'vitest';
import { scaledDotProductAttention } from '../../src/flux/layers.ts';
import {
  ATTENTION_GRADIENT_CHUNK_BYTES,
  attentionGradientHeadsPerChunk,
  attentionGradients,
} from '../../src/graph/attention-gradient.ts';
import { appendGradients } from '../../src/graph/autodiff.ts';
import { Graph } from '../../src/graph/graph.ts';
import { createSession } from '../../src/graph/session.ts';

const wave = (n: number, phase: number) =>
  Float64Array.from({ length: n }, (_, i) => 1.5 * Math.sin(0.7 * i + phase));

describe('fused attention gradient', () => {
  it('equals autodiff of the spelled-out attention in float64, whole or one head group at a time', async () => {
    const g = new Graph('attention-gradient');
    const shapes = { q: [1, 3, 5, 4], k: [1, 3, 6, 4], v: [1, 3, 6, 4], dy: [1, 3, 5, 4] };
    const [q, k, v, dy] = Object.entries(shapes).map(([name, shape]) => g.input(name, 'float64', shape));
    // The rule reads the forward output Y; the spelled-out attention gives it (and its own gradient).
    const y = scaledDotProductAttention(g, q!, k!, v!);
    const loss = g.reduceSum(g.mul(y, dy!), [0, 1, 2, 3], false);
    const expected = appendGradients(g, loss, [q!, k!, v!]);
    const node = { inputs: [q, k, v], outputs: [y], attrs: { scale: { float: 0.5 } } };
    const names = ['dq', 'dk', 'dv'] as const;
    names.forEach((n, i) => {
      g.output(n, expected[i]!);
    });
    for (const heads of [1, 2, 3]) {
      const rule = attentionGradients(g, node, dy!, heads);
      for (const n of names) g.output(`${n}.${heads}`, rule[n]());
    }
    const out = await (await createSession(g))({
      q: wave(60, 1),
      k: wave(72, 2),
      v: wave(72, 3),
      dy: wave(60, 4),
    });
    let worst = 0;
    for (const n of names) {
      const reference = out[n]!.data as Float64Array;
      expect(reference.some((x) => Math.abs(x) > 1e-2)).toBe(true);
      for (const heads of [1, 2, 3]) {
        const got = out[`${n}.${heads}`]!.data as Float64Array;
        got.forEach((x, i) => {
          worst = Math.max(worst, Math.abs(x - reference[i]!));
        });
      }
    }
    expect(worst).toBeLessThan(1e-14);
  });

  it('sizes head groups to the float32 score budget', () => {
    // FLUX.1-dev at 1024x1024 with 512 text tokens: 4608 tokens, 85 MB of scores per head.
    const perHead = 4608 * 4608 * 4;
    const heads = attentionGradientHeadsPerChunk([1, 24, 4608, 128], [1, 24, 4608, 128]);
    expect(heads).toBe(Math.floor(ATTENTION_GRADIENT_CHUNK_BYTES / perHead));
    expect(heads).toBe(3);
    expect(attentionGradientHeadsPerChunk([1, 24, 1280, 128], [1, 24, 1280, 128])).toBe(24);
    expect(attentionGradientHeadsPerChunk([1, 2, 1e5, 8], [1, 2, 1e5, 8])).toBe(1);
  });
});
