/**
 * Moving feature maps and masks by an affine: each output pixel samples the source at A^-1 of its
 * centre (inverse mapping), bilinearly (resample.ts conventions).
 *
 * Padding follows the reference code (METHOD.warp): features repeat the border (grid_sample
 * padding_mode='border'), masks read zeros outside the image (padding_mode='zeros', and B's
 * moved region drops pixels that leave the image), so a region moved off the edge loses that part
 * instead of smearing along the edge.
 */
import { METHOD } from '@dragflow/shared/presets';
import type { BinaryMask } from '../image/binary-mask.ts';
import { type Affine, applyAffine, invertAffine } from './affine.ts';
import { maskToPlanes, thresholdPlanes } from './region.ts';
import { type Padding, type Planes, resample } from './resample.ts';

export function warpPlanes(
  source: Planes,
  transform: Affine,
  padding: Padding = METHOD.warp.featurePadding,
): Planes {
  const inverse = invertAffine(transform);
  return resample(
    source,
    source.width,
    source.height,
    (x, y) => {
      const p = applyAffine(inverse, { x, y });
      return [p.x, p.y];
    },
    padding,
  );
}

/** A (possibly soft) one-channel mask moved with the masks' padding, kept where > 0.5 (the method's p). */
export function warpSoftMask(mask: Planes, transform: Affine): BinaryMask {
  return thresholdPlanes(warpPlanes(mask, transform, METHOD.warp.maskPadding));
}

/** The moved binary mask. */
export function warpMask(mask: BinaryMask, transform: Affine): BinaryMask {
  return warpSoftMask(maskToPlanes(mask), transform);
}
