/**
 * Binary masks (one byte per pixel, 1 = inside) and the region facts the method needs: area,
 * centroid, 8-connected components, and the pixel-centre points whose convex hull bounds a region.
 */
import type { Point, Size } from './geometry.ts';
import { createPlanes, type Planes, resizeBilinear } from './resample.ts';

export interface BinaryMask extends Size {
  /** Row-major, 0 or 1. */
  data: Uint8Array;
}

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
 * Labels 8-connected components (the connectivity of OpenCV's outer contours, which ReD Bench
 * regions come from). Returns the label image (0 = background, 1..count in raster order of first
 * pixel) and the count.
 */
export function labelComponents(mask: BinaryMask): { labels: Int32Array; count: number } {
  const { width, height } = mask;
  const labels = new Int32Array(width * height);
  const stack: number[] = [];
  let count = 0;
  for (let start = 0; start < labels.length; start++) {
    if (!mask.data[start] || labels[start]) continue;
    count++;
    labels[start] = count;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const px = p % width;
      const py = (p - px) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          const ny = py + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (mask.data[q] && !labels[q]) {
            labels[q] = count;
            stack.push(q);
          }
        }
      }
    }
  }
  return { labels, count };
}

/** Each 8-connected component as its own mask, in raster order of first pixel. */
export function connectedComponents(mask: BinaryMask): BinaryMask[] {
  const { labels, count } = labelComponents(mask);
  const components = Array.from({ length: count }, () => createMask(mask.width, mask.height));
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label) components[label - 1]!.data[i] = 1;
  }
  return components;
}

/**
 * The component that contains `point` (rounded to its pixel); when the point lies outside every
 * component (a centroid of a concave region can), the component with the pixel centre nearest to
 * it. Null only for an empty mask.
 */
export function componentAt(mask: BinaryMask, point: Point): BinaryMask | null {
  const { labels, count } = labelComponents(mask);
  if (count === 0) return null;
  const px = Math.round(point.x);
  const py = Math.round(point.y);
  let chosen = 0;
  if (px >= 0 && py >= 0 && px < mask.width && py < mask.height) chosen = labels[py * mask.width + px]!;
  if (chosen === 0) {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < labels.length; i++) {
      if (!labels[i]) continue;
      const x = i % mask.width;
      const y = (i - x) / mask.width;
      const d = (x - point.x) ** 2 + (y - point.y) ** 2;
      if (d < best) {
        best = d;
        chosen = labels[i]!;
      }
    }
  }
  const out = createMask(mask.width, mask.height);
  for (let i = 0; i < labels.length; i++) out.data[i] = labels[i] === chosen ? 1 : 0;
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

export function maskToPlanes(mask: BinaryMask): Planes {
  const planes = createPlanes(1, mask.height, mask.width);
  planes.data.set(mask.data);
  return planes;
}

/** Single-channel planes to a mask, keeping values strictly above 0.5 (the method's threshold). */
export function thresholdPlanes(planes: Planes): BinaryMask {
  const out = createMask(planes.width, planes.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = planes.data[i]! > 0.5 ? 1 : 0;
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
