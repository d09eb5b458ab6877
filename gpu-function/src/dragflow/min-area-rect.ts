/**
 * Minimum-area enclosing rectangle of a point set (the role of OpenCV's minAreaRect in the
 * adaptive gradient mask). An optimal rectangle has one side on a convex-hull edge; rotating
 * calipers visit every edge while the three other supporting vertices only move forward, so the
 * search is linear in the hull size.
 */
import type { BinaryMask, Point } from '../image/binary-mask.ts';
import { convexHull } from './convex-hull.ts';
import { createMask } from './region.ts';

export interface RotatedRect {
  center: Point;
  /** Extent along `angle`. */
  width: number;
  /** Extent perpendicular to `angle`. */
  height: number;
  /** Direction of the width side in radians, in [0, pi/2). */
  angle: number;
  /** Corners in order around the rectangle. */
  corners: [Point, Point, Point, Point];
}

export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  const first = hull[0];
  if (!first) throw new RangeError('minAreaRect needs at least one point');
  const last = hull[hull.length - 1]!;
  if (hull.length < 3) {
    const theta = Math.atan2(last.y - first.y, last.x - first.x);
    return rectOnEdge(first, theta, 0, Math.hypot(last.x - first.x, last.y - first.y), 0);
  }
  const n = hull.length;
  const at = (i: number): Point => hull[i % n]!;
  const dot = (i: number, dx: number, dy: number): number => at(i).x * dx + at(i).y * dy;
  // Supporting vertices for the current edge direction u and its inward normal: furthest along u,
  // least along u, furthest inward. Along a convex polygon each projection is unimodal, so a
  // strict-increase walk stops at the extreme, and the walks only move forward edge after edge.
  let iMax = 0;
  let iMin = 0;
  let iFar = 0;
  let best: { area: number; rect: RotatedRect } | null = null;
  for (let e = 0; e < n; e++) {
    const a = at(e);
    const b = at(e + 1);
    const length = Math.hypot(b.x - a.x, b.y - a.y);
    const ux = (b.x - a.x) / length;
    const uy = (b.y - a.y) / length;
    // The hull is counter-clockwise in the y-up sense, so its interior is left of every edge.
    const nx = -uy;
    const ny = ux;
    if (e === 0) {
      for (let i = 1; i < n; i++) {
        if (dot(i, ux, uy) > dot(iMax, ux, uy)) iMax = i;
        if (dot(i, ux, uy) < dot(iMin, ux, uy)) iMin = i;
        if (dot(i, nx, ny) > dot(iFar, nx, ny)) iFar = i;
      }
    }
    while (dot(iMax + 1, ux, uy) > dot(iMax, ux, uy)) iMax++;
    while (dot(iMin + 1, ux, uy) < dot(iMin, ux, uy)) iMin++;
    while (dot(iFar + 1, nx, ny) > dot(iFar, nx, ny)) iFar++;
    const base = dot(e, ux, uy);
    const lo = dot(iMin, ux, uy) - base;
    const hi = dot(iMax, ux, uy) - base;
    const depth = dot(iFar, nx, ny) - dot(e, nx, ny);
    const area = (hi - lo) * depth;
    if (!best || area < best.area) best = { area, rect: rectOnEdge(a, Math.atan2(uy, ux), lo, hi, depth) };
  }
  return best!.rect;
}

/**
 * The rectangle spanning [lo, hi] along direction theta from `origin` and [0, depth] along its
 * left normal, reported with the angle reduced to [0, pi/2) (a quarter turn swaps the sides).
 */
function rectOnEdge(origin: Point, theta: number, lo: number, hi: number, depth: number): RotatedRect {
  const ux = Math.cos(theta);
  const uy = Math.sin(theta);
  const corner = (s: number, t: number): Point => ({
    x: origin.x + s * ux - t * uy,
    y: origin.y + s * uy + t * ux,
  });
  const quarterTurns = Math.floor(theta / (Math.PI / 2));
  const swap = Math.abs(quarterTurns) % 2 === 1;
  return {
    center: corner((lo + hi) / 2, depth / 2),
    width: swap ? depth : hi - lo,
    height: swap ? hi - lo : depth,
    angle: theta - quarterTurns * (Math.PI / 2),
    corners: [corner(lo, 0), corner(hi, 0), corner(hi, depth), corner(lo, depth)],
  };
}

/**
 * Pixels whose centre lies inside or on the rectangle (within 1e-6 px, so that degenerate
 * rectangles of one row or column still fill their pixels).
 */
export function fillRotatedRect(rect: RotatedRect, width: number, height: number): BinaryMask {
  const mask = createMask(width, height);
  const ux = Math.cos(rect.angle);
  const uy = Math.sin(rect.angle);
  const halfW = rect.width / 2 + 1e-6;
  const halfH = rect.height / 2 + 1e-6;
  const xs = rect.corners.map((c) => c.x);
  const ys = rect.corners.map((c) => c.y);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - rect.center.x;
      const dy = y - rect.center.y;
      if (Math.abs(dx * ux + dy * uy) <= halfW && Math.abs(-dx * uy + dy * ux) <= halfH) {
        mask.data[y * width + x] = 1;
      }
    }
  }
  return mask;
}
