import { formatPath } from '@dragflow/shared/errors';
import { describe, expect, it } from 'vitest';
import { pointDragsToOperations } from '../../src/dragflow/point-drags.ts';
import type { InputError } from '../../src/image/input-error.ts';
import { blockMask, pixelsOf } from './helpers.ts';

describe('pointDragsToOperations', () => {
  // Two regions: a 5x5 block around (10, 10) and a 3x3 block around (30, 5).
  const editable = blockMask(40, 30, 8, 8, 12, 12);
  for (let y = 4; y <= 6; y++) for (let x = 29; x <= 31; x++) editable.data[y * 40 + x] = 1;

  it('relocates the region under a handle by the mean handle motion; untouched regions stay', () => {
    const ops = pointDragsToOperations(
      [
        { handle: { x: 9, y: 9 }, target: { x: 14, y: 9 } },
        { handle: { x: 11, y: 11 }, target: { x: 18, y: 12 } },
      ],
      editable,
    );
    expect(ops).toHaveLength(1);
    expect(ops[0]!.kind).toBe('relocate');
    expect(ops[0]!.target).toEqual({ x: 16, y: 10.5 });
    expect(pixelsOf(ops[0]!.source)).toEqual(pixelsOf(blockMask(40, 30, 8, 8, 12, 12)));
  });

  it('turns handles that rotate by 90 degrees into a rotation about the fitted fixed point', () => {
    // Rotation by +90 degrees about (10, 20): (x, y) -> (10 - (y - 20), 20 + (x - 10)).
    const turn = (x: number, y: number) => ({ x: 10 - (y - 20), y: 20 + (x - 10) });
    const ops = pointDragsToOperations(
      [
        { handle: { x: 10, y: 10 }, target: turn(10, 10) },
        { handle: { x: 12, y: 12 }, target: turn(12, 12) },
      ],
      editable,
    );
    expect(ops).toHaveLength(1);
    const [op] = ops;
    expect(op!.kind).toBe('rotate');
    expect(op!.anchor!.x).toBeCloseTo(10, 9);
    expect(op!.anchor!.y).toBeCloseTo(20, 9);
    // The centroid (10, 10) goes where the rotation takes it.
    expect(op!.target.x).toBeCloseTo(20, 9);
    expect(op!.target.y).toBeCloseTo(20, 9);
  });

  it('keeps a small turn as a relocation, one operation per region in raster order', () => {
    const ops = pointDragsToOperations(
      [
        { handle: { x: 10, y: 10 }, target: { x: 12, y: 10 } },
        { handle: { x: 30, y: 5 }, target: { x: 30, y: 9 } },
        { handle: { x: 12, y: 10 }, target: { x: 14, y: 10.2 } },
      ],
      editable,
    );
    expect(ops.map((op) => op.kind)).toEqual(['relocate', 'relocate']);
    // The small block's first pixel (row 4) comes before the large block's (row 8).
    expect(ops[0]!.target).toEqual({ x: 30, y: 9 });
    // A 5.7 degree turn stays a relocation by the mean motion (2, 0.1).
    expect(ops[1]!.target.x).toBeCloseTo(12, 12);
    expect(ops[1]!.target.y).toBeCloseTo(10.1, 12);
  });

  it('rejects handles off the editable mask or off the working image, with their path', () => {
    const errorOf = (handle: { x: number; y: number }): [string, string] => {
      try {
        pointDragsToOperations(
          [
            { handle: { x: 10, y: 10 }, target: { x: 1, y: 1 } },
            { handle, target: { x: 1, y: 1 } },
          ],
          editable,
        );
      } catch (error) {
        const { code, path } = (error as InputError).error;
        return [code, formatPath(path)];
      }
      throw new Error('expected a rejection');
    };
    expect(errorOf({ x: 20, y: 20 })).toEqual(['invalid_value', 'drags[1].handle']);
    expect(errorOf({ x: 40, y: 3 })).toEqual(['invalid_value', 'drags[1].handle']);
  });
});
