/**
 * How a bundle's model departs from FLUX.1 where the drag optimisation depends on it. The paper's
 * learning rates (1000 / 1200) and feature resize (divisor 2-4 by image size) are tied to FLUX.1's
 * features: 3072 channels that keep the latent recoverable after the resize. A model with other
 * features needs other values, which belong to the bundle, not to the request:
 *
 * - `feature_divisor`: 'paper' (METHOD.featureDownscale) or a fixed divisor of the latent size;
 * - `learning_rate_scale`: multiplies both learning rates of the settings.
 *
 * A manifest may carry them as `config.dragflow_tuning`; bundles written before that field existed
 * get the entries of KNOWN_TUNING by model name. Everything else runs as the paper does.
 */
import type { Manifest } from '../bundle/manifest.ts';

export interface BundleTuning {
  featureDivisor: 'paper' | number;
  learningRateScale: number;
  /** Where the values came from, for the edit's notes. */
  source: string;
}

const PAPER_TUNING: BundleTuning = { featureDivisor: 'paper', learningRateScale: 1, source: 'paper' };

/**
 * The demo transformer's features are its latent tokens under an orthonormal map, a quarter of
 * each token per tap: resized by 2 they average those quarters and several latents give the same
 * features, so the optimisation drifts to colours the image never had. At the latent resolution
 * (divisor 1) they determine the latent, and the L1 loss has its minimum at the moved content.
 * The learning rate scale was measured on synthetic scenes (pipeline/edit.test.ts): it moves a
 * region within the paper's 70 iterations without oscillating.
 */
export const KNOWN_TUNING: Readonly<Record<string, BundleTuning>> = {
  demo: { featureDivisor: 1, learningRateScale: 1.5, source: 'built-in tuning for the demo bundle' },
};

export function bundleTuning(manifest: Manifest): BundleTuning {
  const declared = (
    manifest.config as { dragflow_tuning?: { feature_divisor?: unknown; learning_rate_scale?: unknown } }
  ).dragflow_tuning;
  if (declared) {
    const divisor = declared.feature_divisor;
    const scale = declared.learning_rate_scale;
    return {
      featureDivisor: typeof divisor === 'number' && divisor >= 1 ? divisor : 'paper',
      learningRateScale: typeof scale === 'number' && scale > 0 ? scale : 1,
      source: 'manifest config.dragflow_tuning',
    };
  }
  return KNOWN_TUNING[manifest.model] ?? PAPER_TUNING;
}
