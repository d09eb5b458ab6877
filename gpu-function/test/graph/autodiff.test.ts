import { describe, expect, it } from 'vitest';
import { appendGradients } from '../../src/graph/autodiff.ts';
import { Graph } from '../../src/graph/graph.ts';
import { createSession } from '../../src/graph/session.ts';
import { errorOf } from './graph-error.ts';

describe('appendGradients', () => {
  it('builds only the gradients asked for and reuses forward activations', () => {
    const g = new Graph('lean');
    const x = g.input('x', 'float32', [4, 8]);
    const w = g.param('w', 'float32', [8, 8], new Float32Array(64));
    const y = g.sigmoid(g.matmul(x, w));
    const loss = g.reduceSum(y, [0, 1], false);
    const forwardCount = g.nodes.length;
    appendGradients(g, loss, [x]);
    const backward = g.nodes.slice(forwardCount).map((n) => n.op);
    // dx = (dy * y * (1 - y)) @ w^T: one MatMul, and no Sigmoid recomputed, no dW built.
    expect(backward.filter((op) => op === 'MatMul')).toHaveLength(1);
    expect(backward).not.toContain('Sigmoid');
    expect(g.nodes.slice(forwardCount).some((n) => n.inputs.includes(x))).toBe(false);
  });

  it('skips branches that do not lead to the loss and gives zeros to unconnected inputs', async () => {
    const g = new Graph('partial');
    const x = g.input('x', 'float32', [3]);
    const unused = g.input('unused', 'float32', [2]);
    g.output('side', g.exp(x)); // not part of the loss: no gradient ops for it
    const loss = g.reduceSum(g.mul(x, x), [0], false);
    g.output('loss', loss);
    const forwardCount = g.nodes.length;
    const [dx, dUnused] = appendGradients(g, loss, [x, unused]);
    expect(g.nodes.slice(forwardCount).map((n) => n.op)).not.toContain('Exp');
    g.output('dx', dx!);
    g.output('dUnused', dUnused!);
    const run = await createSession(g);
    const out = await run({ x: new Float32Array([1, -2, 3]), unused: new Float32Array([5, 6]) });
    expect(Array.from(out.dx!.data as Float32Array)).toEqual([2, -4, 6]);
    expect(Array.from(out.dUnused!.data as Float32Array)).toEqual([0, 0]);
  });

  it('accumulates gradients of a value used several times', async () => {
    const g = new Graph('fanout');
    const x = g.input('x', 'float64', [2]);
    const loss = g.reduceSum(g.add(g.mul(x, x), g.mul(g.exp(x), 3)), [0], false);
    const [dx] = appendGradients(g, loss, [x]);
    g.output('dx', dx!);
    const out = await (await createSession(g))({ x: new Float64Array([0.5, -1]) });
    const expected = [0.5, -1].map((v) => 2 * v + 3 * Math.exp(v));
    const got = Array.from(out.dx!.data as Float64Array);
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 12);
    });
  });

  it('fails at build time naming an op without a gradient rule', () => {
    const g = new Graph('no-rule');
    const x = g.input('x', 'float32', [3]);
    const loss = g.reduceSum(g.mul(g.floor(x), x), [0], false);
    const e = errorOf(() => appendGradients(g, loss, [x]));
    expect(e.code).toBe('no_gradient_rule');
    expect(e.message).toMatch(/^Floor node 'Floor_\d+': op 'Floor' has no gradient rule/);
  });

  it('names the node and mode when an op has no gradient in that mode', () => {
    const g = new Graph('modes');
    const x = g.input('x', 'float32', [1, 1, 4, 4]);
    const cubic = g.op('Resize', [x, undefined, undefined, g.ints([1, 1, 8, 8])], { mode: 'cubic' })[0]!;
    const e = errorOf(() => appendGradients(g, g.reduceSum(cubic, [0, 1, 2, 3], false), [x]));
    expect(e.code).toBe('no_gradient_rule');
    expect(e.message).toMatch(/^Resize node 'Resize_\d+': no gradient for mode 'cubic'/);
    const grid = g.input('grid', 'float32', [1, 2, 2, 2]);
    const zeros = g.op('GridSample', [x, grid], { mode: 'linear', padding_mode: 'zeros' })[0]!;
    const z = errorOf(() => appendGradients(g, g.reduceSum(zeros, [0, 1, 2, 3], false), [grid]));
    expect(z.message).toMatch(
      /^GridSample node 'GridSample_\d+': gradient only for bilinear, border padding/,
    );
  });

  it('refuses a non-scalar or non-float loss', () => {
    const g = new Graph('bad-loss');
    const x = g.input('x', 'float32', [3]);
    expect(errorOf(() => appendGradients(g, g.exp(x), [x])).message).toBe(
      "loss 'Exp_0': must be a float scalar, is float32[3] [not_scalar_loss]",
    );
    const other = new Graph('other');
    const foreign = other.reduceSum(other.input('z', 'float32', [2]), [0], false);
    expect(errorOf(() => appendGradients(g, foreign, [x])).code).toBe('foreign_tensor');
  });

  it('fails on a dangling input or a cycle before differentiating', () => {
    const g = new Graph('dangling');
    const pending = g.declare('pending', 'float32', [3]);
    const loss = g.reduceSum(g.mul(pending, pending), [0], false);
    const e = errorOf(() => appendGradients(g, loss, [pending]));
    expect(e.code).toBe('dangling_input');
    expect(e.message).toContain("input 'pending' was declared but never defined");
  });
});
