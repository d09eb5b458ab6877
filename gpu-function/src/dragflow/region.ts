/**
 * Binary masks (image/binary-mask.ts: one byte per pixel, 1 = inside) and the region facts the
 * method needs beyond connected regions: area, centroid, union, the pixel-centre points whose
 * convex hull bounds a region, and the method's resize rule.
 */
import { METHOD } from '@dragflow/shared/presets';
import type { BinaryMask, Point } from '../image/binary-mask.ts';
import type { Size } from './geometry.ts';
import { createPlanes, type Planes, resizeBilinear } from './resample.ts';

export function createMask(width: number, height: number): BinaryMask {
  return { width, height, data: new Uint8Array(width * height) };
}

export function maskArea(mask: BinaryMask): number {
  let area = 0;
  for (const v of mask.data) area += v;
  return area;
}

/** Mean of the pixel centres inside the mask; null for an empty mask. */
export function maskCentroid(mask: BinaryMask): Point | null {
  let sumX = 0;
  let sumY = 0;
  let count = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]) {
        sumX += x;
        sumY += y;
        count++;
      }
    }
  }
  return count === 0 ? null : { x: sumX / count, y: sumY / count };
}

export function maskUnion(a: BinaryMask, b: BinaryMask): BinaryMask {
  assertSameSize(a, b);
  const out = createMask(a.width, a.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i]! | b.data[i]!;
  return out;
}

/**
 * The leftmost and rightmost pixel centre of every row: the convex hull of these equals the hull
 * of all pixel centres of the mask, at O(height) points instead of O(area).
 */
export function rowExtremePoints(mask: BinaryMask): Point[] {
  const points: Point[] = [];
  for (let y = 0; y < mask.height; y++) {
    const row = y * mask.width;
    let left = -1;
    let right = -1;
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[row + x]) {
        if (left < 0) left = x;
        right = x;
      }
    }
    if (left < 0) continue;
    points.push({ x: left, y });
    if (right !== left) points.push({ x: right, y });
  }
  return points;
}

/** The top-left width x height part of a mask. */
export function cropMask(mask: BinaryMask, size: Size): BinaryMask {
  if (size.width > mask.width || size.height > mask.height) {
    throw new RangeError(`cannot crop a ${mask.width}x${mask.height} mask to ${size.width}x${size.height}`);
  }
  const out = createMask(size.width, size.height);
  for (let y = 0; y < size.height; y++) {
    out.data.set(mask.data.subarray(y * mask.width, y * mask.width + size.width), y * size.width);
  }
  return out;
}

export function maskToPlanes(mask: BinaryMask): Planes {
  const planes = createPlanes(1, mask.height, mask.width);
  planes.data.set(mask.data);
  return planes;
}

/** Single-channel planes to a mask, keeping values strictly above the method's 0.5. */
export function thresholdPlanes(planes: Planes): BinaryMask {
  const out = createMask(planes.width, planes.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = planes.data[i]! > METHOD.maskThreshold ? 1 : 0;
  return out;
}

/** The method's mask resize rule: bilinear (half-pixel centres), then > 0.5. */
export function resizeMask(mask: BinaryMask, width: number, height: number): BinaryMask {
  if (mask.width === width && mask.height === height) return { width, height, data: mask.data.slice() };
  return thresholdPlanes(resizeBilinear(maskToPlanes(mask), width, height));
}

function assertSameSize(a: Size, b: Size): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`mask sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
}
