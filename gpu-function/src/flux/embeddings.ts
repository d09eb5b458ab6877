/**
 * Conditioning embeddings: the sinusoidal timestep embedding (on the host, an input of the graphs)
 * and the two-layer MLP embedder (in the graph).
 */
import type { Tensor } from '../graph/graph.ts';
import { linear } from './layers.ts';
import type { ParamBinder } from './param-binder.ts';

/** Timesteps in [0, 1] are scaled by this before the sinusoid, as in the reference. */
export const TIME_FACTOR = 1000;
/** Period of the slowest sinusoid. */
export const MAX_PERIOD = 10_000;

const f32 = Math.fround;

/**
 * Timesteps (or guidance strengths) t [B] -> [B, dim] row-major: cos of 1000 t f_j for
 * f_j = exp(-ln(10000) j / (dim/2)), j = 0..dim/2-1, then sin of the same. The angles follow the
 * reference's float32 arithmetic step by step (so the embedding is the reference's, not a more
 * exact one: at guidance 10 the angles reach 1e4 rad, where float32 rounding moves them by 5e-4);
 * exp, cos and sin are taken in float64 and rounded once.
 */
export function timestepEmbedding(t: readonly number[], dim: number): Float32Array {
  const half = dim / 2;
  const frequencies = Array.from({ length: half }, (_, j) =>
    f32(Math.exp(f32(f32(f32(-Math.log(MAX_PERIOD)) * j) / half))),
  );
  const out = new Float32Array(t.length * dim);
  t.forEach((value, b) => {
    const scaled = f32(TIME_FACTOR * f32(value));
    frequencies.forEach((frequency, j) => {
      const angle = f32(scaled * frequency);
      out[b * dim + j] = Math.cos(angle);
      out[b * dim + half + j] = Math.sin(angle);
    });
  });
  return out;
}

/** in_layer -> SiLU -> out_layer. */
export function mlpEmbedder(p: ParamBinder, prefix: string, x: Tensor): Tensor {
  return linear(p, `${prefix}.out_layer`, p.graph.silu(linear(p, `${prefix}.in_layer`, x)));
}
