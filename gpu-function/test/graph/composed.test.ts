import { describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '../../src/graph/graph.ts';
import { broadcastShapes } from '../../src/graph/shape.ts';
import { gradcheck, prng, tolerance } from './gradcheck.ts';

/** Property test: seeded random compositions of differentiable ops, checked like single rules. */
type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** b, made to broadcast against a (collapsed to a scalar when it does not). */
function broadcastable(g: Graph, a: Tensor, b: Tensor): Tensor {
  return broadcastShapes(a.shape, b.shape)
    ? b
    : g.reduceMean(
        b,
        b.shape.map((_, i) => i),
        false,
      );
}

const steps: ((g: Graph, random: Random, a: Tensor, b: Tensor) => Tensor)[] = [
  (g, random, a) => pick(random, [g.tanh, g.sigmoid, g.neg, g.abs, g.relu, g.silu]).call(g, a),
  (g, _random, a) => g.gelu(a, 'tanh'),
  (g, _random, a) => g.sqrt(g.add(g.mul(a, a), 1)),
  (g, _random, a) => g.log(g.add(g.mul(a, a), 0.5)),
  (g, _random, a) => g.exp(g.tanh(a)),
  (g, _random, a) => g.pow(g.add(g.abs(a), 0.5), 1.5),
  (g, random, a, b) => pick(random, [g.add, g.sub, g.mul]).call(g, a, broadcastable(g, a, b)),
  (g, _random, a, b) => g.div(a, g.add(g.mul(broadcastable(g, a, b), broadcastable(g, a, b)), 1)),
  (g, random, a) => (a.rank ? g.softmax(a, Math.floor(random() * a.rank)) : a),
  (g, random, a) =>
    g.transpose(
      a,
      [...a.shape.keys()].sort(() => random() - 0.5),
    ),
  (g, random, a) => (a.rank ? g.reduceSum(a, [Math.floor(random() * a.rank)], random() < 0.5) : a),
  (g, random, a) => (a.rank ? g.reduceMean(a, [Math.floor(random() * a.rank)], random() < 0.5) : a),
  (g, _random, a, b) => {
    if (a.rank < 2) return a;
    const right =
      b.rank >= 2 &&
      b.shape.at(-1) === a.shape.at(-1) &&
      broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2))
        ? b
        : a;
    const perm = [...right.shape.keys()];
    [perm[right.rank - 2], perm[right.rank - 1]] = [right.rank - 1, right.rank - 2];
    return g.matmul(a, g.transpose(right, perm));
  },
  (g, random, a) => {
    const axis = a.shape.findIndex((d) => d >= 2);
    return axis < 0
      ? a
      : g.slice(a, [Math.floor(random() * 2)], [a.shape[axis]!], [axis], [pick(random, [1, 2])]);
  },
  (g, random, a) => (a.rank ? g.concat([a, g.tanh(a)], Math.floor(random() * a.rank)) : a),
  (g, _random, a) => {
    const axis = a.shape.findIndex((d) => d >= 2);
    return axis < 0 ? a : g.gather(a, [a.shape[axis]! - 1, 0, 0], axis);
  },
  (g, _random, a) => (a.rank ? g.layerNorm(a, g.expand(g.scalar(1, a.dtype), [a.shape.at(-1)!])) : a),
  (g, _random, a) => (a.rank >= 2 ? g.reshape(a, [...a.shape.slice(0, -2), -1]) : g.unsqueeze(a, [0])),
  (g, _random, a, b) => g.where(g.greater(a, 0), a, broadcastable(g, a, b)),
  (g, _random, a) => {
    const axis = a.shape.findIndex((d) => d >= 2);
    if (axis < 0) return a;
    const [first, second] = g.split(a, [1, a.shape[axis]! - 1], axis);
    return g.mul(first!, g.reduceSum(second!, [axis]));
  },
];

const shapes = [[2, 3, 4], [3, 4], [4], [3, 1], [2, 1, 4]];

describe('randomly composed graphs match finite differences', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}`, async () => {
      const random = prng(seed);
      const inputs = { a: pick(random, shapes), b: pick(random, shapes), c: pick(random, shapes) };
      const plan = Array.from({ length: 6 }, () => ({
        step: pick(random, steps),
        operands: [random(), random()],
      }));
      const result = await gradcheck({
        dtype: 'float64',
        inputs,
        seed,
        build: (g, x) => {
          const pool = [x.a!, x.b!, x.c!];
          const local = prng(seed * 31);
          for (const { step, operands } of plan) {
            const a = pool[Math.floor(operands[0]! * pool.length)]!;
            const b = pool[Math.floor(operands[1]! * pool.length)]!;
            pool.push(step(g, local, a, b));
          }
          // Every value feeds the result (with distinct weights, so no two cancel), so every input
          // and every step is on the gradient path.
          return pool.reduceRight((acc, t, i) => g.add(acc, g.mul(broadcastable(g, acc, t), 1 + 0.37 * i)));
        },
      });
      expect(result.checks).toBe(6);
      for (const gradient of Object.values(result.gradients)) {
        expect(Math.max(...Array.from(gradient, Math.abs))).toBeGreaterThan(0);
      }
      expect(result.maxRelativeError).toBeLessThanOrEqual(tolerance('float64'));
    });
  }
});
