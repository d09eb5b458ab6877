import { describe, expect, it } from 'vitest';
import { blockWeightShapes, transformerBlock } from '../../src/graph/block-fixture.ts';
import type { Graph, Tensor } from '../../src/graph/graph.ts';
import { createSession } from '../../src/graph/session.ts';
import { type CheckCase, gradcheck, lossGraph, prng, tolerance } from './gradcheck.ts';

const size = { tokens: 4, dim: 8, heads: 2 };
const weightNames = Object.keys(blockWeightShapes(size));

/** Two stacked blocks, each in its own segment; weights are inputs so they get gradients. */
function twoBlocks(): CheckCase {
  const inputs: Record<string, number[]> = { x: [1, size.tokens, size.dim], c: [1, size.dim] };
  for (const [name, shape] of Object.entries(blockWeightShapes(size))) {
    for (const b of [0, 1]) inputs[`blocks.${b}.${name}`] = shape;
  }
  const build = (g: Graph, x: Record<string, Tensor>) => {
    let h = x.x!;
    for (const b of [0, 1]) {
      // Scaled weights keep activations in softmax's and GELU's interesting range.
      h = g.segment(`blocks.${b}`, () =>
        transformerBlock(g, h, x.c!, size, (name) => g.mul(x[`blocks.${b}.${name}`]!, 0.3)),
      );
    }
    return h;
  };
  return { dtype: 'float64', inputs, build, seed: 11 };
}

/** Backward nodes reading a block activation that, in the forward pass, only its own block uses. */
function backwardReadsOfInterior({ graph, forwardNodeCount }: ReturnType<typeof lossGraph>): string[] {
  const forward = graph.nodes.slice(0, forwardNodeCount);
  const interior = new Set<Tensor>();
  for (const node of forward) {
    if (!node.segment?.startsWith('blocks.')) continue;
    for (const t of node.outputs) {
      if (forward.every((n) => !n.inputs.includes(t) || n.segment === node.segment)) interior.add(t);
    }
  }
  return graph.nodes
    .slice(forwardNodeCount)
    .filter((n) => n.inputs.some((t) => t && interior.has(t)))
    .map((n) => n.name);
}

describe('transformer block gradients', () => {
  it('match finite differences end to end (attention, MLP, adaLN modulation)', async () => {
    const c = twoBlocks();
    const result = await gradcheck(c);
    expect(result.checks).toBe(2 * (2 + 2 * weightNames.length));
    expect(result.maxRelativeError).toBeLessThanOrEqual(tolerance('float64'));
  });

  it('are identical with both blocks rematerialized', async () => {
    const c = twoBlocks();
    const plain = lossGraph(c);
    const remat = lossGraph(c, { rematerialize: ['blocks.0', 'blocks.1'] });

    // Structure: with remat, no backward node reads an activation internal to a block.
    expect(backwardReadsOfInterior(plain).length).toBeGreaterThan(0);
    expect(backwardReadsOfInterior(remat)).toEqual([]);
    // The copy is the block plus its barrier: Slice, Reshape, Equal and one Where per entering
    // non-initializer value (hidden state, conditioning, and the weights, inputs in this test).
    const entering = 2 + weightNames.length;
    const ops = (segment: string, graph: Graph) =>
      graph.nodes.filter((n) => n.segment === segment).map((n) => n.op);
    const copy = ops('remat.blocks.0', remat.graph);
    const original = ops('blocks.0', plain.graph);
    expect(copy.length).toBe(original.length + 3 + entering);
    expect(copy.filter((op) => op === 'Where').length).toBe(
      original.filter((op) => op === 'Where').length + entering,
    );

    const random = prng(5);
    const feeds: Record<string, Float64Array> = {};
    for (const [name, shape] of Object.entries(c.inputs)) {
      feeds[name] = Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * random() - 1);
    }
    const [a, b] = await Promise.all([createSession(plain.graph), createSession(remat.graph)]);
    const [outA, outB] = [await a(feeds), await b(feeds)];
    for (const name of ['loss', ...plain.wrt.map((w) => `grad.${w}`)]) {
      const x = outA[name]!.data as Float64Array;
      const y = outB[name]!.data as Float64Array;
      const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
      expect(worst, name).toBeLessThanOrEqual(1e-12 * Math.max(1, ...Array.from(x, Math.abs)));
    }
  });
});
