/**
 * The adaptive gradient mask B (method doc, "Building B"): for each operation, the union of its
 * source region and the fully transformed source, enclosed by the minimum-area rotated rectangle
 * of that union's pixel centres, filled; OR over operations. Outside B the latent is pinned to the
 * background branch, and the final composite keeps the original pixels.
 */
import type { BinaryMask } from '../image/binary-mask.ts';
import type { Size } from './geometry.ts';
import { fillRotatedRect, minAreaRect } from './min-area-rect.ts';
import { operationTransform, type RegionOperation } from './operation.ts';
import { createMask, maskUnion, resizeMask, rowExtremePoints } from './region.ts';
import { warpMask } from './warp.ts';

/** The fully transformed source region at image resolution (f = 1). */
export function transformedRegion(op: RegionOperation): BinaryMask {
  const size = { width: op.source.width, height: op.source.height };
  return warpMask(op.source, operationTransform(op, 1, size));
}

/** B at image resolution. */
export function gradientMask(operations: readonly RegionOperation[], size: Size): BinaryMask {
  let mask = createMask(size.width, size.height);
  for (const op of operations) {
    const points = rowExtremePoints(maskUnion(op.source, transformedRegion(op)));
    if (points.length === 0) continue;
    mask = maskUnion(mask, fillRotatedRect(minAreaRect(points), size.width, size.height));
  }
  return mask;
}

/** B at latent resolution (H/8, W/8): bilinear resize, > 0.5. */
export function latentGradientMask(imageMask: BinaryMask): BinaryMask {
  if (imageMask.width % 8 !== 0 || imageMask.height % 8 !== 0) {
    throw new RangeError(
      `B of ${imageMask.width}x${imageMask.height} is not at a working size (multiples of 16)`,
    );
  }
  return resizeMask(imageMask, imageMask.width / 8, imageMask.height / 8);
}
