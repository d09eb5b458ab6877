/**
 * 2x3 affine matrices in pixel coordinates: [a, b, c, d, e, f] maps (x, y) to
 * (a x + b y + c, d x + e y + f). They map SOURCE positions to TARGET positions; warps invert them.
 */
import type { Point } from '../image/binary-mask.ts';

export type Affine = readonly [number, number, number, number, number, number];

export function translation(dx: number, dy: number): Affine {
  return [1, 0, dx, 0, 1, dy];
}

/** Rotation by `radians` about the origin; with y pointing down, positive turns clockwise on screen. */
export function rotation(radians: number): Affine {
  const c = Math.cos(radians);
  const s = Math.sin(radians);
  return [c, -s, 0, s, c, 0];
}

export function uniformScaling(factor: number): Affine {
  return [factor, 0, 0, 0, factor, 0];
}

/** `outer` after `inner`: compose(A, B) maps p to A(B(p)). */
export function compose(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [g, h, i, j, k, l] = inner;
  return [a * g + b * j, a * h + b * k, a * i + b * l + c, d * g + e * j, d * h + e * k, d * i + e * l + f];
}

/** T(p) M T(-p): the linear part M acting about `pivot` instead of the origin. */
export function about(pivot: Point, linear: Affine): Affine {
  return compose(translation(pivot.x, pivot.y), compose(linear, translation(-pivot.x, -pivot.y)));
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (det === 0) throw new RangeError('affine matrix is singular');
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

export function applyAffine(m: Affine, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] };
}

/** Wraps an angle in degrees to [-180, 180). */
export function wrapDegrees(degrees: number): number {
  return ((((degrees + 180) % 360) + 360) % 360) - 180;
}
