/**
 * Conditioning embeddings: the sinusoidal timestep embedding (computed on the host, as the
 * graph toolkit has no Sin/Cos ops; it is a function of one number per call) and the
 * two-layer MLP embedder (in the graph).
 */
import type { Tensor } from '../graph/graph.ts';
import { linear } from './layers.ts';
import type { ParamBinder } from './param-binder.ts';

/** Timesteps in [0, 1] are scaled by this before the sinusoid, as in the reference. */
export const TIME_FACTOR = 1000;
/** Period of the slowest sinusoid. */
export const MAX_PERIOD = 10_000;

/**
 * Timesteps (or guidance strengths) [B] -> [B, dim] row-major: cos of t * 1000 * f_j for
 * f_j = exp(-ln(10000) j / (dim/2)), j = 0..dim/2-1, then sin of the same.
 */
export function timestepEmbedding(t: readonly number[] | Float32Array, dim: number): Float32Array {
  const half = dim / 2;
  const out = new Float32Array(t.length * dim);
  for (let b = 0; b < t.length; b++) {
    // The reference multiplies in float32; so do we, then take cos/sin in float64.
    const scaled = Math.fround(TIME_FACTOR * t[b]!);
    for (let j = 0; j < half; j++) {
      const arg = Math.fround(scaled * Math.fround(Math.exp((-Math.log(MAX_PERIOD) * j) / half)));
      out[b * dim + j] = Math.cos(arg);
      out[b * dim + half + j] = Math.sin(arg);
    }
  }
  return out;
}

/** in_layer -> SiLU -> out_layer. */
export function mlpEmbedder(p: ParamBinder, prefix: string, x: Tensor): Tensor {
  return linear(p, `${prefix}.out_layer`, p.graph.silu(linear(p, `${prefix}.in_layer`, x)));
}
