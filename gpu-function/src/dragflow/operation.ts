/**
 * Region operations (one source region moved by one affine building block) and the transform an
 * operation applies at a fraction f in [0, 1] of its motion, at any resolution of the image.
 *
 * Rules (method doc, "Affine transforms and their schedule"):
 * - b = source centroid, mapped to the working resolution and rounded there (Math.round, halves up);
 *   target and anchor are mapped unrounded (half-pixel convention, geometry.ts rescalePoint).
 * - relocation, deformation: translation f (t - b).
 * - rotation: about anchor a by f * wrap(atan2(t - a) - atan2(b - a)), the wrap to [-180, 180) degrees.
 * - scaling (our extension; the paper has none): scale by 1 + f (s - 1) about b, then translate by
 *   f (t - b), so f = 1 puts the scaled region's centroid on the target.
 */

import { InputError } from '../image/input-error.ts';
import { type Affine, about, compose, rotation, translation, uniformScaling, wrapDegrees } from './affine.ts';
import { type Point, rescalePoint, type Size } from './geometry.ts';
import { type BinaryMask, maskCentroid } from './region.ts';

export type RegionTask = 'relocation' | 'deformation' | 'rotation' | 'scaling';

export const REGION_TASKS: readonly RegionTask[] = ['relocation', 'deformation', 'rotation', 'scaling'];

/** Scale factors accepted for the scaling extension. */
export const MIN_SCALE_FACTOR = 0.25;
export const MAX_SCALE_FACTOR = 4;

export interface RegionOperation {
  task: RegionTask;
  /** One connected region at image resolution. */
  source: BinaryMask;
  /** The new centroid, image pixels. */
  target: Point;
  /** Rotation pivot, image pixels (rotation only). */
  anchor?: Point;
  /** Uniform scale factor (scaling only). */
  scale?: number;
}

/** Checks what the transform needs; `index` names the operation in error messages. */
export function validateOperation(op: RegionOperation, index: number): void {
  const where = `operation ${index} (${op.task})`;
  if (!REGION_TASKS.includes(op.task)) {
    throw new InputError('operation_invalid', `${where}: task must be one of ${REGION_TASKS.join(', ')}`);
  }
  const size = { width: op.source.width, height: op.source.height };
  const centroid = maskCentroid(op.source);
  if (!centroid) throw new InputError('mask_empty', `${where}: the source region has no pixels`);
  assertInside(op.target, size, `${where}: target`);
  if (op.task === 'rotation') {
    if (!op.anchor) throw new InputError('operation_invalid', `${where}: a rotation needs an anchor point`);
    assertInside(op.anchor, size, `${where}: anchor`);
    const sameAs = (p: Point) => Math.hypot(p.x - op.anchor!.x, p.y - op.anchor!.y) < 1;
    if (sameAs(centroid) || sameAs(op.target)) {
      throw new InputError(
        'operation_invalid',
        `${where}: the anchor must be at least 1 px from the source centroid and the target, else the angle is undefined`,
      );
    }
  }
  if (op.task === 'scaling') {
    const s = op.scale;
    if (s === undefined || !Number.isFinite(s) || s < MIN_SCALE_FACTOR || s > MAX_SCALE_FACTOR) {
      throw new InputError(
        'operation_invalid',
        `${where}: scale must be a number in [${MIN_SCALE_FACTOR}, ${MAX_SCALE_FACTOR}], got ${String(s)}`,
      );
    }
  }
}

/**
 * The transform of `op` at `fraction` of its motion, in pixel coordinates of a `resolution`-sized
 * version of the image (the feature grid during optimisation, the image itself for masks).
 */
export function operationTransform(op: RegionOperation, fraction: number, resolution: Size): Affine {
  const image = { width: op.source.width, height: op.source.height };
  const centroid = maskCentroid(op.source);
  if (!centroid) throw new InputError('mask_empty', `${op.task} operation: the source region has no pixels`);
  const scaled = rescalePoint(centroid, image, resolution);
  const b = { x: Math.round(scaled.x), y: Math.round(scaled.y) };
  const t = rescalePoint(op.target, image, resolution);
  switch (op.task) {
    case 'relocation':
    case 'deformation':
      return translation(fraction * (t.x - b.x), fraction * (t.y - b.y));
    case 'rotation': {
      if (!op.anchor) throw new InputError('operation_invalid', 'rotation operation: missing anchor');
      const a = rescalePoint(op.anchor, image, resolution);
      const degrees = wrapDegrees(
        ((Math.atan2(t.y - a.y, t.x - a.x) - Math.atan2(b.y - a.y, b.x - a.x)) * 180) / Math.PI,
      );
      return about(a, rotation((fraction * degrees * Math.PI) / 180));
    }
    case 'scaling': {
      const factor = 1 + fraction * ((op.scale ?? 1) - 1);
      return compose(
        translation(fraction * (t.x - b.x), fraction * (t.y - b.y)),
        about(b, uniformScaling(factor)),
      );
    }
  }
}

function assertInside(p: Point, size: Size, what: string): void {
  if (!(p.x >= 0 && p.y >= 0 && p.x <= size.width - 1 && p.y <= size.height - 1)) {
    throw new InputError(
      'point_outside_image',
      `${what} (${p.x}, ${p.y}) lies outside the ${size.width}x${size.height} image`,
    );
  }
}
