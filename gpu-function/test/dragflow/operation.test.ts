import { formatPath } from '@dragflow/shared/errors';
import { describe, expect, it } from 'vitest';
import { applyAffine } from '../../src/dragflow/affine.ts';
import { operationTransform, type RegionOperation, validateOperation } from '../../src/dragflow/operation.ts';
import type { InputError } from '../../src/image/input-error.ts';
import { blockMask } from './helpers.ts';

const image = { width: 64, height: 64 };

describe('operationTransform', () => {
  it('translates by f (t - b) with b rounded at feature resolution', () => {
    // Centroid (10.5, 20) -> feature grid 16x16: (2.25, 4.625) -> rounded (2, 5).
    // Target (40, 30) -> (9.625, 7.125). Full translation (7.625, 2.125).
    const op: RegionOperation = {
      kind: 'relocate',
      source: blockMask(64, 64, 10, 19, 11, 21),
      target: { x: 40, y: 30 },
    };
    const feature = { width: 16, height: 16 };
    const full = operationTransform(op, 1, feature);
    expect([full[2], full[5]]).toEqual([7.625, 2.125]);
    const half = operationTransform(op, 25 / 50, feature);
    expect([half[2], half[5]]).toEqual([3.8125, 1.0625]);
    expect([half[0], half[1], half[3], half[4]]).toEqual([1, 0, 0, 1]);
  });

  it('deformation moves like relocation', () => {
    const source = blockMask(64, 64, 4, 4, 6, 6);
    const target = { x: 9, y: 12 };
    expect(operationTransform({ kind: 'deform', source, target }, 1, image)).toEqual(
      operationTransform({ kind: 'relocate', source, target }, 1, image),
    );
    expect(operationTransform({ kind: 'deform', source, target }, 1, image)).toEqual([1, 0, 4, 0, 1, 7]);
  });

  it('rotates about the anchor by the fraction of the angle from b to t', () => {
    // b = (30, 20), a = (20, 20), t = (20, 30): +90 degrees; b goes to (20, 30) at f = 1.
    const op: RegionOperation = {
      kind: 'rotate',
      source: blockMask(64, 64, 29, 19, 31, 21),
      anchor: { x: 20, y: 20 },
      target: { x: 20, y: 30 },
    };
    const end = applyAffine(operationTransform(op, 1, image), { x: 30, y: 20 });
    expect(end.x).toBeCloseTo(20, 12);
    expect(end.y).toBeCloseTo(30, 12);
    const halfway = applyAffine(operationTransform(op, 0.5, image), { x: 30, y: 20 });
    expect(halfway.x).toBeCloseTo(20 + 10 * Math.SQRT1_2, 12);
    expect(halfway.y).toBeCloseTo(20 + 10 * Math.SQRT1_2, 12);
  });

  it('takes the short way round: -340 degrees wraps to +20', () => {
    // b at 180 degrees from a, t at -160 degrees: halfway is a +10 degree turn, to 190 degrees.
    const a = { x: 32, y: 32 };
    const rad = (d: number) => (d * Math.PI) / 180;
    const op: RegionOperation = {
      kind: 'rotate',
      source: blockMask(64, 64, 21, 31, 23, 33),
      anchor: a,
      target: { x: a.x + 10 * Math.cos(rad(-160)), y: a.y + 10 * Math.sin(rad(-160)) },
    };
    const halfway = applyAffine(operationTransform(op, 0.5, image), { x: 22, y: 32 });
    expect(halfway.x).toBeCloseTo(a.x + 10 * Math.cos(rad(190)), 12);
    expect(halfway.y).toBeCloseTo(a.y + 10 * Math.sin(rad(190)), 12);
  });

  it('scales about the anchor by |t - a| / |b - a|, linearly in the fraction', () => {
    // b = (10, 10), a = (4, 10), t = (22, 10): factor 3; halfway factor 2.
    const op: RegionOperation = {
      kind: 'scale',
      source: blockMask(64, 64, 9, 9, 11, 11),
      anchor: { x: 4, y: 10 },
      target: { x: 22, y: 10 },
    };
    expect(operationTransform(op, 1, image)).toEqual([3, 0, -8, 0, 3, -20]);
    expect(applyAffine(operationTransform(op, 1, image), { x: 10, y: 10 })).toEqual({ x: 22, y: 10 });
    expect(applyAffine(operationTransform(op, 0.5, image), { x: 11, y: 12 })).toEqual({ x: 18, y: 14 });
  });

  it('keeps the requested scale factor on a coarse grid (the centroid is not rounded for scale)', () => {
    // Pixels 64..127 of a 256 image: centroid 95.5 (pixel centres), anchor at the corner 63.5,
    // target 111.5: factor 48 / 32 = 1.5. On the 32x32 feature grid the centroid (11.5) lies on a
    // cell boundary; rounding it to 12 would give 6 / 4.5 = 1.333.
    const op: RegionOperation = {
      kind: 'scale',
      source: blockMask(256, 256, 64, 64, 127, 127),
      anchor: { x: 63.5, y: 63.5 },
      target: { x: 111.5, y: 111.5 },
    };
    const feature = operationTransform(op, 1, { width: 32, height: 32 });
    expect(feature[0]).toBeCloseTo(1.5, 12);
    expect(feature[4]).toBeCloseTo(1.5, 12);
  });
});

describe('validateOperation', () => {
  const source = blockMask(64, 64, 9, 9, 11, 11);
  const errorOf = (op: RegionOperation): [string, string] | undefined => {
    try {
      validateOperation(op, ['operations', 2]);
      return undefined;
    } catch (error) {
      const { code, path } = (error as InputError).error;
      return [code, formatPath(path)];
    }
  };

  it('accepts well-formed operations, targets beyond the working crop included', () => {
    expect(errorOf({ kind: 'relocate', source, target: { x: 70, y: -0.5 } })).toBeUndefined();
    expect(
      errorOf({ kind: 'rotate', source, target: { x: 20, y: 20 }, anchor: { x: 5, y: 5 } }),
    ).toBeUndefined();
  });

  it('names what is wrong and where with the contract codes', () => {
    expect(
      errorOf({ kind: 'relocate', source: blockMask(64, 64, 0, 0, -1, -1), target: { x: 1, y: 1 } }),
    ).toEqual(['empty_region', 'operations[2].source']);
    expect(errorOf({ kind: 'rotate', source, target: { x: 20, y: 20 } })).toEqual([
      'anchor_required',
      'operations[2].anchor',
    ]);
    expect(
      errorOf({ kind: 'scale', source, target: { x: 20, y: 20 }, anchor: { x: 10.5, y: 10.5 } }),
    ).toEqual(['invalid_value', 'operations[2].anchor']);
  });
});
