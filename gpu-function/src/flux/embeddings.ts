/**
 * Conditioning embeddings, in the graph: the sinusoidal timestep embedding and the two-layer
 * MLP embedder.
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import { linear } from './layers.ts';
import type { ParamBinder } from './param-binder.ts';

/** Timesteps in [0, 1] are scaled by this before the sinusoid, as in the reference. */
export const TIME_FACTOR = 1000;
/** Period of the slowest sinusoid. */
export const MAX_PERIOD = 10_000;

/**
 * Timesteps (or guidance strengths) t [B] -> [B, dim]: cos of 1000 t f_j for
 * f_j = exp(-ln(10000) j / (dim/2)), j = 0..dim/2-1, then sin of the same; in float32 throughout,
 * as the reference computes it.
 */
export function timestepEmbedding(g: Graph, t: Tensor, dim: number): Tensor {
  const half = dim / 2;
  const steps = g.constant(
    Float32Array.from({ length: half }, (_, j) => j),
    'float32',
  );
  const exponents = g.div(g.mul(steps, -Math.log(MAX_PERIOD)), half);
  // onnxruntime's float32 Exp can be an ulp off (a 1e-4 rad phase error at 1000 t); exp in
  // float64, rounded once, gives the correctly rounded float32 frequencies.
  const frequencies = g.cast(g.exp(g.cast(exponents, 'float64')), 'float32');
  const args = g.mul(g.unsqueeze(g.mul(t, TIME_FACTOR), [1]), frequencies);
  return g.concat([g.cos(args), g.sin(args)], -1);
}

/** in_layer -> SiLU -> out_layer. */
export function mlpEmbedder(p: ParamBinder, prefix: string, x: Tensor): Tensor {
  return linear(p, `${prefix}.out_layer`, p.graph.silu(linear(p, `${prefix}.in_layer`, x)));
}
