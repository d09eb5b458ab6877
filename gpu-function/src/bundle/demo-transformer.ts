import type { FluxConfig } from '../flux/config.ts';
import { DEMO_LATENT_CHANNELS, dctMatrix } from './demo-vae.ts';
import { randomParameter } from './random-weights.ts';

/**
 * The demo bundle's transformer: FLUX wiring at a CPU-friendly size, with weights chosen by rule so
 * that the demo edit is legible without a trained model:
 * - the final layer is zero, so the velocity is exactly zero and inversion and sampling are the
 *   identity (the demo shows the drag optimisation's effect alone);
 * - img_in is an orthonormal map times DEMO_FEATURE_GAIN that is local to each latent cell: a packed
 *   token holds the 192 channels of 2x2 latent cells, and img_in applies the 192-point DCT-II to each
 *   cell alone (cellLocalImgIn). Unpacked to feature maps at latent size, every feature pixel is then a
 *   perfectly conditioned function of its own latent cell, so region-level L1 supervision carries
 *   latents under any warp (relocation, rotation, scaling, moves by odd cells), not only whole tokens;
 * - the gain (also on the norm1 modulation scale, 1 + scale = gain) sizes each step of DragFlow's
 *   default update (lr 1000 on an L1 loss averaged over every feature element): big enough to carry a
 *   region within the 70 iterations, small enough that the sign-like L1 steps, which never settle,
 *   leave little noise on the moved content (bundle/README.md has the measurements);
 * - modulation weights are zero and their gates a small constant, so attention and MLP outputs only
 *   nudge the residual stream (features stay close to img_in(x), independent of t, guidance and text);
 * - everything else is seeded uniform noise, so the graphs still compute something non-trivial.
 * Latent: 192 channels (the demo VAE's 8x8x3 patches) at H/8, W/8, packed 2x2 into 768.
 */
export const DEMO_FLUX_CONFIG: FluxConfig = {
  name: 'demo',
  inChannels: 768,
  outChannels: 768,
  vecInDim: 16,
  contextInDim: 16,
  hiddenSize: 768,
  mlpRatio: 1,
  numHeads: 12,
  depth: 2,
  depthSingleBlocks: 1,
  axesDim: [8, 28, 28],
  theta: 10_000,
  qkvBias: true,
  guidanceEmbed: true,
  timestepEmbedDim: 64,
};

export const DEMO_SEED = 20_251_002;
/** Gate of every attention and MLP residual: their outputs enter the stream scaled by this. */
export const DEMO_RESIDUAL_GATE = 0.02;
/** Scale of the image stream and of the norm1-modulated features (see above). */
export const DEMO_FEATURE_GAIN = 14;

/**
 * Constant modulation per chunk (shift, scale, gate for each sub-layer; double blocks have two
 * sub-layers, single blocks one): residual gates everywhere, the feature gain on the image stream's
 * norm1 scale (a tapped DragFlow feature).
 */
function modulationBias(name: string, chunk: number): number {
  const gateChunk = chunk % 3 === 2;
  if (gateChunk) return DEMO_RESIDUAL_GATE;
  const imageNorm1Scale = chunk === 1 && /^double_blocks\.\d+\.img_mod\./.test(name);
  return imageNorm1Scale ? DEMO_FEATURE_GAIN - 1 : 0;
}

function constantF32(count: number, value: (i: number) => number): Uint8Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = value(i);
  return new Uint8Array(values.buffer);
}

/**
 * img_in's torch Linear weight [out, in] in the packed token order (c ph pw), cell = ph * 2 + pw:
 * hidden (c, cell) = gain x sum over c' of DCT192[c, c'] x latent (c', same cell). A block-diagonal of
 * four orthonormal blocks, so x -> Wx is a scaled isometry that never mixes cells.
 */
export function cellLocalImgIn(): Float32Array {
  const channels = DEMO_LATENT_CHANNELS;
  const cells = DEMO_FLUX_CONFIG.inChannels / channels;
  const dct = dctMatrix(channels);
  const weight = new Float32Array(DEMO_FLUX_CONFIG.hiddenSize * DEMO_FLUX_CONFIG.inChannels);
  for (let c = 0; c < channels; c++) {
    for (let source = 0; source < channels; source++) {
      const value = DEMO_FEATURE_GAIN * dct[c * channels + source]!;
      for (let cell = 0; cell < cells; cell++) {
        weight[(c * cells + cell) * DEMO_FLUX_CONFIG.inChannels + source * cells + cell] = value;
      }
    }
  }
  return weight;
}

/** One parameter of the demo transformer as float32 bytes (see the rules above). */
export function demoTransformerParameter(name: string, shape: readonly number[]): Iterable<Uint8Array> {
  const count = shape.reduce((a, b) => a * b, 1);
  const hidden = DEMO_FLUX_CONFIG.hiddenSize;
  if (name === 'img_in.weight') return [new Uint8Array(cellLocalImgIn().buffer)];
  if (name === 'img_in.bias' || name.startsWith('final_layer.')) return [constantF32(count, () => 0)];
  const isModulation = /(_mod|\.modulation)\.lin\.(weight|bias)$/.test(name);
  if (isModulation && name.endsWith('.weight')) return [constantF32(count, () => 0)];
  if (isModulation) return [constantF32(count, (i) => modulationBias(name, Math.floor(i / hidden)))];
  if (name.endsWith('_norm.scale')) return [constantF32(count, () => 1)];
  return randomParameter(DEMO_SEED, name, shape, 'F32');
}
