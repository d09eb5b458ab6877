/**
 * Loss weights across operations (method doc, "Region weights"): small regions get up to 5x the
 * weight so that a large region's loss does not drown them. S_i is the source area as a fraction
 * of the image, w_i = clamp(1 + 0.5 / (S_i + 0.1), 1, 5) (METHOD.regionWeight), gamma_i = w_i / sum w.
 */
import { METHOD } from '@dragflow/shared/presets';
import type { BinaryMask } from '../image/binary-mask.ts';
import { maskArea } from './region.ts';

export function regionWeight(areaFraction: number): number {
  const { base, numerator, offset, min, max } = METHOD.regionWeight;
  return Math.min(Math.max(base + numerator / (areaFraction + offset), min), max);
}

export function regionWeights(sources: readonly BinaryMask[]): number[] {
  const weights = sources.map((m) => regionWeight(maskArea(m) / (m.width * m.height)));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}
