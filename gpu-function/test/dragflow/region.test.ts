import { describe, expect, it } from 'vitest';
import { convexHull } from '../../src/dragflow/convex-hull.ts';
import {
  createMask,
  cropMask,
  maskArea,
  maskCentroid,
  maskUnion,
  resizeMask,
  rowExtremePoints,
} from '../../src/dragflow/region.ts';
import { blockMask, pixelsOf } from './helpers.ts';

describe('region facts', () => {
  it('centroid of an L of five pixels is (0.6, 0.6)', () => {
    const mask = createMask(4, 4);
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 1],
      [0, 2],
    ] as const)
      mask.data[y * 4 + x] = 1;
    expect(maskArea(mask)).toBe(5);
    const c = maskCentroid(mask)!;
    expect(c.x).toBeCloseTo(0.6, 12);
    expect(c.y).toBeCloseTo(0.6, 12);
    expect(maskCentroid(createMask(3, 3))).toBeNull();
  });

  it('unites and crops masks', () => {
    const union = maskUnion(blockMask(6, 4, 0, 0, 1, 1), blockMask(6, 4, 4, 2, 5, 3));
    expect(pixelsOf(union)).toEqual(['0,0', '1,0', '0,1', '1,1', '4,2', '5,2', '4,3', '5,3']);
    expect(pixelsOf(cropMask(union, { width: 5, height: 3 }))).toEqual(['0,0', '1,0', '0,1', '1,1', '4,2']);
    expect(() => cropMask(union, { width: 7, height: 3 })).toThrow(RangeError);
    expect(() => maskUnion(union, createMask(4, 6))).toThrow(/differ/);
  });

  it('row extremes span the same hull as all pixels', () => {
    const mask = blockMask(8, 8, 2, 1, 5, 3);
    mask.data[6 * 8 + 4] = 1;
    expect(rowExtremePoints(mask)).toEqual([
      { x: 2, y: 1 },
      { x: 5, y: 1 },
      { x: 2, y: 2 },
      { x: 5, y: 2 },
      { x: 2, y: 3 },
      { x: 5, y: 3 },
      { x: 4, y: 6 },
    ]);
    const all = pixelsOf(mask).map((s) => {
      const [x, y] = s.split(',').map(Number);
      return { x: x!, y: y! };
    });
    expect(convexHull(rowExtremePoints(mask))).toEqual(convexHull(all));
  });

  it('resizes masks by bilinear then > 0.5', () => {
    // 4x1 -> 2x1 samples at x = 0.5 and 2.5: [1,1,0,0] gives 1 and 0; [0,1,1,0] gives 0.5 twice (out).
    const row = (bits: number[]) => ({ width: bits.length, height: 1, data: Uint8Array.from(bits) });
    expect([...resizeMask(row([1, 1, 0, 0]), 2, 1).data]).toEqual([1, 0]);
    expect([...resizeMask(row([0, 1, 1, 0]), 2, 1).data]).toEqual([0, 0]);
    // 2x1 -> 4x1 samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped): [1, 0] -> 1, 0.75, 0.25, 0.
    expect([...resizeMask(row([1, 0]), 4, 1).data]).toEqual([1, 1, 0, 0]);
  });
});

describe('convexHull', () => {
  it('drops interior and collinear points', () => {
    const hull = convexHull([
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 4, y: 0 },
      { x: 4, y: 4 },
      { x: 0, y: 4 },
      { x: 2, y: 2 },
      { x: 0, y: 0 },
    ]);
    expect(hull).toEqual([
      { x: 0, y: 0 },
      { x: 4, y: 0 },
      { x: 4, y: 4 },
      { x: 0, y: 4 },
    ]);
    expect(
      convexHull([
        { x: 0, y: 0 },
        { x: 1, y: 1 },
        { x: 2, y: 2 },
      ]),
    ).toEqual([
      { x: 0, y: 0 },
      { x: 2, y: 2 },
    ]);
  });
});
