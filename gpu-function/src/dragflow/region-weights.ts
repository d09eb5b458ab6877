/**
 * Loss weights across operations (method doc, "Region weights"): small regions get up to 5x the
 * weight so that a large region's loss does not drown them. S_i is the source area as a fraction
 * of the image, w_i = clamp(1 + 0.5 / (S_i + 0.1), 1, 5), gamma_i = w_i / sum_j w_j.
 */
import { type BinaryMask, maskArea } from './region.ts';

export function regionWeight(areaFraction: number): number {
  return Math.min(Math.max(1 + 0.5 / (areaFraction + 0.1), 1), 5);
}

export function regionWeights(sources: readonly BinaryMask[]): number[] {
  const weights = sources.map((m) => regionWeight(maskArea(m) / (m.width * m.height)));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}
