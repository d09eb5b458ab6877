/**
 * A small transformer block with the structure of FLUX's blocks (adaLN modulation with shift,
 * scale and gate; attention with RMS-normed queries and keys; a tanh-GELU MLP). The gradient
 * tests and the autodiff benchmark use it; the real model lives in `flux/`.
 */
import type { DType } from './dtype.ts';
import type { Graph, Tensor } from './graph.ts';

export interface BlockSize {
  tokens: number;
  dim: number;
  heads: number;
}

/** Creates a named weight of the given shape (an input in gradient checks, a param in the benchmark). */
export type WeightFactory = (name: string, shape: number[]) => Tensor;

export function blockWeightShapes({ dim, heads }: BlockSize): Record<string, number[]> {
  return {
    'mod.weight': [6 * dim, dim],
    'mod.bias': [6 * dim],
    'qkv.weight': [3 * dim, dim],
    'q_norm.scale': [dim / heads],
    'k_norm.scale': [dim / heads],
    'proj.weight': [dim, dim],
    'mlp.0.weight': [4 * dim, dim],
    'mlp.2.weight': [dim, 4 * dim],
  };
}

/** y = block(x, c) for x [1, tokens, dim] and conditioning c [1, dim]. */
export function transformerBlock(
  g: Graph,
  x: Tensor,
  c: Tensor,
  size: BlockSize,
  weight: WeightFactory,
): Tensor {
  const { tokens, dim, heads } = size;
  const headDim = dim / heads;
  const w = (name: string) => weight(name, blockWeightShapes(size)[name]!);
  const dtype: DType = x.dtype;
  const ones = g.expand(g.scalar(1, dtype), [dim]);

  const modulation = g.linear(g.silu(c), w('mod.weight'), w('mod.bias'));
  const [shift1, scale1, gate1, shift2, scale2, gate2] = g
    .split(modulation, new Array(6).fill(dim), 1)
    .map((t) => g.unsqueeze(t, [1]));
  const modulate = (t: Tensor, shift: Tensor, scale: Tensor) =>
    g.add(g.mul(g.layerNorm(t, ones, undefined, { epsilon: 1e-6 }), g.add(scale, 1)), shift);

  const qkv = g.reshape(g.linear(modulate(x, shift1!, scale1!), w('qkv.weight')), [
    1,
    tokens,
    3,
    heads,
    headDim,
  ]);
  const [q, k, v] = g.split(g.transpose(qkv, [2, 0, 3, 1, 4]), [1, 1, 1], 0).map((t) => g.squeeze(t, [0]));
  const scores = g.mul(
    g.matmul(g.rmsNorm(q!, w('q_norm.scale')), g.transpose(g.rmsNorm(k!, w('k_norm.scale')), [0, 1, 3, 2])),
    1 / Math.sqrt(headDim),
  );
  const attended = g.reshape(g.transpose(g.matmul(g.softmax(scores), v!), [0, 2, 1, 3]), [1, tokens, dim]);
  const afterAttention = g.add(x, g.mul(gate1!, g.linear(attended, w('proj.weight'))));

  const hidden = g.gelu(g.linear(modulate(afterAttention, shift2!, scale2!), w('mlp.0.weight')), 'tanh');
  return g.add(afterAttention, g.mul(gate2!, g.linear(hidden, w('mlp.2.weight'))));
}
