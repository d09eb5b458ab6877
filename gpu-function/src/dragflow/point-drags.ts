/**
 * Point drags (DragBench style: handle/target pairs plus an editable mask) to region operations.
 *
 * Rule:
 * 1. Every handle must lie in the editable mask; handles are grouped by the 8-connected region
 *    of the mask under them (image/binary-mask.ts connectedRegions). Regions without handles
 *    are left alone.
 * 2. Each region with handles becomes one operation whose source is the whole region.
 * 3. With two or more handles, the least-squares rigid motion (rotation + translation, 2-D
 *    Procrustes) of handles onto targets is fitted. If it turns by at least ROTATION_THRESHOLD_DEG
 *    and its fixed point lies on the image, the operation is a rotation about that fixed point,
 *    with the target where the motion puts the region's centroid.
 * 4. Otherwise it is a relocation to centroid + mean(target - handle).
 */

import type { BinaryMask, Point } from '../image/binary-mask.ts';
import { connectedRegions, regionMask } from '../image/binary-mask.ts';
import { InputError } from '../image/input-error.ts';
import { type Affine, applyAffine } from './affine.ts';
import { isOnImage } from './geometry.ts';
import type { RegionOperation } from './operation.ts';
import { maskCentroid } from './region.ts';

export const ROTATION_THRESHOLD_DEG = 15;

/** Handle and target in pixel-centre coordinates of the image. */
export interface PointDrag {
  handle: Point;
  target: Point;
}

export function pointDragsToOperations(drags: readonly PointDrag[], editable: BinaryMask): RegionOperation[] {
  if (drags.length === 0) throw new InputError('too_short', ['drags'], 'needs at least one drag');
  const regions = connectedRegions(editable);
  const groups = new Map<number, PointDrag[]>();
  drags.forEach((drag, i) => {
    const px = Math.round(drag.handle.x);
    const py = Math.round(drag.handle.y);
    const onGrid = px >= 0 && py >= 0 && px < editable.width && py < editable.height;
    const label = onGrid ? regions.labels[py * editable.width + px]! : -1;
    if (label < 0) {
      throw new InputError(
        'invalid_value',
        ['drags', i, 'handle'],
        'lies outside editable_mask; every handle must be on the region it drags',
      );
    }
    groups.set(label, [...(groups.get(label) ?? []), drag]);
  });
  return [...groups.keys()]
    .sort((a, b) => a - b)
    .map((label) => groupOperation(groups.get(label)!, regionMask(regions, label)));
}

function groupOperation(group: PointDrag[], source: BinaryMask): RegionOperation {
  const centroid = maskCentroid(source)!;
  const motion = group.length >= 2 ? rigidFit(group) : null;
  if (motion) {
    const anchor = fixedPoint(motion);
    const turnsEnough = Math.abs(motion.angle) >= (ROTATION_THRESHOLD_DEG * Math.PI) / 180;
    if (turnsEnough && isOnImage(anchor, source)) {
      return { kind: 'rotate', source, anchor, target: applyAffine(motion.matrix, centroid) };
    }
  }
  const shift = mean(group.map((d) => ({ x: d.target.x - d.handle.x, y: d.target.y - d.handle.y })));
  return { kind: 'relocate', source, target: { x: centroid.x + shift.x, y: centroid.y + shift.y } };
}

/** Least-squares rotation + translation taking handles to targets. */
function rigidFit(group: PointDrag[]): { angle: number; matrix: Affine } {
  const hc = mean(group.map((d) => d.handle));
  const tc = mean(group.map((d) => d.target));
  let sumCross = 0;
  let sumDot = 0;
  for (const { handle, target } of group) {
    const hx = handle.x - hc.x;
    const hy = handle.y - hc.y;
    const tx = target.x - tc.x;
    const ty = target.y - tc.y;
    sumDot += hx * tx + hy * ty;
    sumCross += hx * ty - hy * tx;
  }
  const angle = Math.atan2(sumCross, sumDot);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const matrix: Affine = [c, -s, tc.x - (c * hc.x - s * hc.y), s, c, tc.y - (s * hc.x + c * hc.y)];
  return { angle, matrix };
}

/** The point a (non-identity) rotation + translation leaves in place: (I - R) a = T. */
function fixedPoint({ matrix }: { matrix: Affine }): Point {
  const [c, negS, tx, s, , ty] = matrix;
  // (I - R) = [[1 - c, s], [-s, 1 - c]] with R = [[c, -s], [s, c]]; its determinant is 2 - 2c.
  const det = (1 - c) * (1 - c) + s * s;
  return { x: ((1 - c) * tx + negS * ty) / det, y: (s * tx + (1 - c) * ty) / det };
}

function mean(points: Point[]): Point {
  const n = points.length;
  return {
    x: points.reduce((a, p) => a + p.x, 0) / n,
    y: points.reduce((a, p) => a + p.y, 0) / n,
  };
}
