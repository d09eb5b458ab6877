/**
 * z_bg, what the latent outside B is pinned to during the drag optimisation (shared presets.ts
 * BACKGROUND_LATENTS):
 * - `reconstruction` (paper): the reconstruction-path latent at the edit time, which is the
 *   inverted latent itself;
 * - `half_step` (reference code, dragger.py dragger_step): the inverted latent advanced half a
 *   denoising step, z + (t1 - t0) / 2 * v, with v its velocity at the edit time from the drag
 *   passes' inputs: the EDIT guidance (3.5), the target prompt and the last K/V set (the code takes
 *   it from the same forward pass as F0).
 */
import type { Settings } from '@dragflow/shared/presets';

export interface BackgroundLatentInput {
  settings: Pick<Settings, 'background_latent' | 'edit_guidance'>;
  /** The inverted latent (packed). */
  inverted: Float32Array;
  /** Denoising times from the edit time down: [t0, t1, ...]. */
  denoising: readonly number[];
  /** The model's velocity at (z, t) with the drag passes' text and K/V, at `guidance`. */
  velocity: (z: Float32Array, t: number, guidance: number) => Promise<Float32Array>;
}

export async function backgroundLatent(input: BackgroundLatentInput): Promise<Float32Array> {
  const { settings, inverted, denoising } = input;
  if (settings.background_latent === 'reconstruction') return inverted;
  const [t0, t1] = denoising as [number, number];
  const half = (t1 - t0) / 2;
  const v = await input.velocity(inverted, t0, settings.edit_guidance);
  return inverted.map((z, i) => z + half * v[i]!);
}
