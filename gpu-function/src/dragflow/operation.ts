/**
 * Region operations (one source region moved by one affine building block) and the transform an
 * operation applies at a fraction f in [0, 1] of its motion, at any resolution of the image.
 * Kinds and their meaning follow the public contract (shared/src/edit-request.ts).
 *
 * Rules (method doc, "Affine transforms and their schedule"):
 * - b = source centroid, mapped to the working resolution and rounded there (Math.round, halves up);
 *   target t and anchor a are mapped unrounded (half-pixel convention, geometry.ts rescalePoint).
 *   Scale's factor uses the unrounded centroid: it is a ratio of distances (the contract's
 *   definition), and rounding the centroid on a coarse grid would change the requested factor.
 * - relocate, deform: translation f (t - b).
 * - rotate: about a by f * wrap(atan2(t - a) - atan2(b - a)), wrapped to [-180, 180) degrees.
 * - scale (our extension; the paper has none): about a by 1 + f (s - 1), s = |t - a| / |b - a|.
 */
import type { OperationKind } from '@dragflow/shared/edit-request';
import type { Path } from '@dragflow/shared/errors';
import type { BinaryMask, Point } from '../image/binary-mask.ts';
import { InputError } from '../image/input-error.ts';
import { type Affine, about, rotation, translation, uniformScaling, wrapDegrees } from './affine.ts';
import { rescalePoint, type Size } from './geometry.ts';
import { maskCentroid } from './region.ts';

/** An anchor closer than this to the centroid or target leaves the angle or scale undefined. */
export const MIN_ANCHOR_DISTANCE_PX = 1;

export interface RegionOperation {
  kind: OperationKind;
  /** The region to move, at the size of the image it is given on; pixel-centre coordinates below. */
  source: BinaryMask;
  /** Where the centroid goes (relocate, deform, rotate) or the scale handle (scale). */
  target: Point;
  /** Pivot of rotate and scale. */
  anchor?: Point;
}

/**
 * Checks what the transform needs; `path` locates the operation in the request for errors.
 * Coordinates are not bounded here: the contract checks them against the uploaded image
 * (checkAgainstImage), and a target outside the working crop is legitimate (B grows the crop).
 */
export function validateOperation(op: RegionOperation, path: Path): void {
  const centroid = maskCentroid(op.source);
  if (!centroid)
    throw new InputError(
      'empty_region',
      [...path, 'source'],
      `selects no pixels of the ${op.source.width}x${op.source.height} image the model works on`,
    );
  if (op.kind !== 'rotate' && op.kind !== 'scale') return;
  const anchor = op.anchor;
  if (!anchor) throw new InputError('anchor_required', [...path, 'anchor'], `is required for ${op.kind}`);
  for (const [name, p] of [
    ['source centroid', centroid],
    ['target', op.target],
  ] as const) {
    if (Math.hypot(p.x - anchor.x, p.y - anchor.y) < MIN_ANCHOR_DISTANCE_PX) {
      throw new InputError(
        'invalid_value',
        [...path, 'anchor'],
        `lies within ${MIN_ANCHOR_DISTANCE_PX} px of the ${name}, so the ${op.kind} is undefined`,
      );
    }
  }
}

/**
 * The transform of `op` at `fraction` of its motion, in pixel-centre coordinates of a
 * `resolution`-sized version of the image (the feature grid while optimising, the image for B).
 */
export function operationTransform(op: RegionOperation, fraction: number, resolution: Size): Affine {
  const image = { width: op.source.width, height: op.source.height };
  const centroid = maskCentroid(op.source);
  if (!centroid) throw new RangeError(`${op.kind}: the source region is empty (validateOperation first)`);
  const scaled = rescalePoint(centroid, image, resolution);
  const b = { x: Math.round(scaled.x), y: Math.round(scaled.y) };
  const t = rescalePoint(op.target, image, resolution);
  if (op.kind === 'relocate' || op.kind === 'deform') {
    return translation(fraction * (t.x - b.x), fraction * (t.y - b.y));
  }
  if (!op.anchor) throw new RangeError(`${op.kind}: missing anchor (validateOperation first)`);
  const a = rescalePoint(op.anchor, image, resolution);
  if (op.kind === 'rotate') {
    const degrees = wrapDegrees(
      ((Math.atan2(t.y - a.y, t.x - a.x) - Math.atan2(b.y - a.y, b.x - a.x)) * 180) / Math.PI,
    );
    return about(a, rotation((fraction * degrees * Math.PI) / 180));
  }
  const factor = Math.hypot(t.x - a.x, t.y - a.y) / Math.hypot(scaled.x - a.x, scaled.y - a.y);
  return about(a, uniformScaling(1 + fraction * (factor - 1)));
}
