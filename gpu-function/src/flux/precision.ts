/**
 * The element type the transformer graphs compute in, chosen per device: bfloat16 on CUDA (the
 * released weights' own type: no conversion, tensor-core GEMMs), float32 on CPU (onnxruntime's CPU
 * provider has no bfloat16 arithmetic kernels; tests compare against float32 references), float16
 * where a device lacks bfloat16. Whatever the compute type, these stay float32: graph inputs and
 * outputs (the host speaks float32, and float16 K/V), LayerNorm/RMSNorm statistics (stash_type),
 * softmax and the attention gradient, the rotary embedding, the supervision features, the loss and
 * the latent update (host).
 */
import type { Graph, Tensor } from '../graph/graph.ts';

export const COMPUTE_DTYPES = ['float32', 'float16', 'bfloat16'] as const;
export type ComputeDtype = (typeof COMPUTE_DTYPES)[number];

/** The model metadata key every runtime graph records its compute dtype under. */
export const COMPUTE_METADATA_KEY = 'dragflow.compute';

/** Records the dtype `g` computes in (ONNX metadata_props; bundles copy it into the manifest). */
export function recordCompute(g: Graph, compute: ComputeDtype): void {
  g.metadata.set(COMPUTE_METADATA_KEY, compute);
}

/** The compute dtype a graph recorded; every graph a bundle ships must have recorded one. */
export function recordedCompute(g: Graph): ComputeDtype {
  const value = g.metadata.get(COMPUTE_METADATA_KEY);
  if (!COMPUTE_DTYPES.includes(value as ComputeDtype)) {
    throw new Error(`graph '${g.name}' records no compute dtype (${COMPUTE_METADATA_KEY})`);
  }
  return value as ComputeDtype;
}

/** What a device computes the transformer in. */
export const DEVICE_COMPUTE: Readonly<Record<'cpu' | 'cuda', ComputeDtype>> = {
  cpu: 'float32',
  cuda: 'bfloat16',
};

/**
 * float16 gradients of an L1 loss averaged over millions of feature elements sit near float16's
 * subnormal range (1/N ~ 3e-7): the drag step scales the loss by this before differentiating and
 * divides the float32 gradient by it (bfloat16 and float32 have float32's exponent range: 1).
 */
export function lossScale(compute: ComputeDtype): number {
  return compute === 'float16' ? 2 ** 16 : 1;
}

/** `x` in `dtype` (a Cast unless it already is). */
export function castTo(g: Graph, x: Tensor, dtype: Tensor['dtype']): Tensor {
  return x.dtype === dtype ? x : g.cast(x, dtype);
}
