/**
 * Moving feature maps and masks by an affine: each output pixel samples the source at A^-1 of its
 * centre (inverse mapping), bilinearly (resample.ts conventions).
 *
 * Features and masks both use border padding (METHOD.warp, as the reference code): a region that
 * touches the image edge therefore extends from the edge along its motion, which the gradient
 * mask B then covers.
 */
import { METHOD } from '@dragflow/shared/presets';
import type { BinaryMask } from '../image/binary-mask.ts';
import { type Affine, applyAffine, invertAffine } from './affine.ts';
import { maskToPlanes, thresholdPlanes } from './region.ts';
import { type Planes, resample } from './resample.ts';

export function warpPlanes(source: Planes, transform: Affine): Planes {
  const inverse = invertAffine(transform);
  return resample(
    source,
    source.width,
    source.height,
    (x, y) => {
      const p = applyAffine(inverse, { x, y });
      return [p.x, p.y];
    },
    METHOD.warp.padding,
  );
}

/** The moved mask: the same warp, kept where > 0.5 (the method's p). */
export function warpMask(mask: BinaryMask, transform: Affine): BinaryMask {
  return thresholdPlanes(warpPlanes(maskToPlanes(mask), transform));
}
