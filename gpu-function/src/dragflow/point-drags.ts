/**
 * Point drags (DragBench style: handle/target pairs plus an editable mask) to region operations.
 *
 * Rule:
 * 1. Every handle must lie in the editable mask; handles are grouped by the 8-connected component
 *    of the mask that contains them. Components without handles are left alone.
 * 2. Each component with handles becomes one operation whose source region is the component.
 * 3. With two or more handles, the least-squares rigid motion (rotation + translation, 2-D
 *    Procrustes) of handles onto targets is fitted. If it turns by at least ROTATION_THRESHOLD_DEG
 *    and its fixed point lies inside the image, the operation is a rotation about that fixed point,
 *    with the target where the motion puts the region's centroid.
 * 4. Otherwise it is a relocation to centroid + mean(target - handle).
 */

import { InputError } from '../image/input-error.ts';
import { type Affine, applyAffine } from './affine.ts';
import type { Point } from './geometry.ts';
import type { RegionOperation } from './operation.ts';
import { type BinaryMask, createMask, labelComponents, maskCentroid } from './region.ts';

export const ROTATION_THRESHOLD_DEG = 15;

export interface PointDrag {
  handle: Point;
  target: Point;
}

export function pointDragsToOperations(drags: readonly PointDrag[], editable: BinaryMask): RegionOperation[] {
  if (drags.length === 0)
    throw new InputError('operation_invalid', 'point drags: at least one handle is needed');
  const { labels, count } = labelComponents(editable);
  const groups = new Map<number, PointDrag[]>();
  drags.forEach((drag, i) => {
    for (const [name, p] of [
      ['handle', drag.handle],
      ['target', drag.target],
    ] as const) {
      if (!(p.x >= 0 && p.y >= 0 && p.x <= editable.width - 1 && p.y <= editable.height - 1)) {
        throw new InputError(
          'point_outside_image',
          `drag ${i}: ${name} (${p.x}, ${p.y}) lies outside the ${editable.width}x${editable.height} image`,
        );
      }
    }
    const label = labels[Math.round(drag.handle.y) * editable.width + Math.round(drag.handle.x)]!;
    if (label === 0) {
      throw new InputError(
        'point_outside_mask',
        `drag ${i}: handle (${drag.handle.x}, ${drag.handle.y}) is not inside the editable mask`,
      );
    }
    groups.set(label, [...(groups.get(label) ?? []), drag]);
  });
  const operations: RegionOperation[] = [];
  for (let label = 1; label <= count; label++) {
    const group = groups.get(label);
    if (!group) continue;
    const source = createMask(editable.width, editable.height);
    for (let i = 0; i < labels.length; i++) source.data[i] = labels[i] === label ? 1 : 0;
    operations.push(groupOperation(group, source));
  }
  return operations;
}

function groupOperation(group: PointDrag[], source: BinaryMask): RegionOperation {
  const centroid = maskCentroid(source)!;
  const motion = group.length >= 2 ? rigidFit(group) : null;
  if (motion) {
    const anchor = fixedPoint(motion);
    const turnsEnough = Math.abs(motion.angle) >= (ROTATION_THRESHOLD_DEG * Math.PI) / 180;
    if (
      turnsEnough &&
      anchor.x >= 0 &&
      anchor.y >= 0 &&
      anchor.x <= source.width - 1 &&
      anchor.y <= source.height - 1
    ) {
      return { task: 'rotation', source, anchor, target: applyAffine(motion.matrix, centroid) };
    }
  }
  const shift = mean(group.map((d) => ({ x: d.target.x - d.handle.x, y: d.target.y - d.handle.y })));
  return { task: 'relocation', source, target: { x: centroid.x + shift.x, y: centroid.y + shift.y } };
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
