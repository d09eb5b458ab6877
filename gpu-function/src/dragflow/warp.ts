/**
 * Moving feature maps and masks by an affine: each output pixel samples the source at A^-1 of its
 * centre (inverse mapping), bilinearly (resample.ts conventions).
 *
 * Feature maps use border padding, as the method doc states. Masks use zero padding: a mask says
 * which pixels carry the moved region, and nothing outside the image belongs to it; with border
 * padding a region touching the edge would smear along the motion.
 */
import { type Affine, applyAffine, invertAffine } from './affine.ts';
import { type BinaryMask, maskToPlanes, thresholdPlanes } from './region.ts';
import { type Padding, type Planes, resample } from './resample.ts';

export function warpPlanes(source: Planes, transform: Affine, padding: Padding = 'border'): Planes {
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

/** The moved mask: bilinear warp with zero padding, kept where > 0.5 (the method's p). */
export function warpMask(mask: BinaryMask, transform: Affine): BinaryMask {
  return thresholdPlanes(warpPlanes(maskToPlanes(mask), transform, 'zeros'));
}
