import { describe, expect, it } from 'vitest';
import { gradientMask, latentGradientMask, transformedRegion } from '../../src/dragflow/gradient-mask.ts';
import { blockMask, pixelsOf } from './helpers.ts';

describe('gradientMask', () => {
  it('fills the rectangle around a block and its translated copy', () => {
    const size = { width: 16, height: 16 };
    // 2x2 block centred (2.5, 2.5) -> rounded b = (3, 3) (halves up); target (7, 3): shift (4, 0).
    const op = { kind: 'relocate' as const, source: blockMask(16, 16, 2, 2, 3, 3), target: { x: 7, y: 3 } };
    expect(pixelsOf(transformedRegion(op))).toEqual(['6,2', '7,2', '6,3', '7,3']);
    const b = gradientMask([op], size);
    expect(pixelsOf(b)).toEqual(pixelsOf(blockMask(16, 16, 2, 2, 7, 3)));
  });

  it('moves the region with zero padding: nothing smears in from the edge, what leaves is dropped', () => {
    // 4x2 block on the left edge (centroid (1.5, 2.5) -> b = (2, 3)), target (6, 3): shift (4, 0).
    const fromEdge = {
      kind: 'relocate' as const,
      source: blockMask(16, 16, 0, 2, 3, 3),
      target: { x: 6, y: 3 },
    };
    expect(pixelsOf(transformedRegion(fromEdge))).toEqual(pixelsOf(blockMask(16, 16, 4, 2, 7, 3)));
    // 4x3 block x 0..3, y 2..4 (b = (2, 3)) turned a quarter about a = (0, 3): row y goes to column
    // 3 - y, so row 4 lands at x = -1 and is dropped. With border padding the outputs above the
    // turned block (x 0..1, y 0..2), which read left of the image, would have smeared it to the top.
    const turned = {
      kind: 'rotate' as const,
      source: blockMask(16, 16, 0, 2, 3, 4),
      target: { x: 0, y: 5 },
      anchor: { x: 0, y: 3 },
    };
    expect(pixelsOf(transformedRegion(turned))).toEqual(pixelsOf(blockMask(16, 16, 0, 3, 1, 6)));
  });

  it('encloses a diagonal move in a rotated rectangle and ORs operations', () => {
    // One pixel at (2, 2) moved to (6, 6): the hull is a segment, filled as the 5 diagonal pixels.
    const diagonal = {
      kind: 'relocate' as const,
      source: blockMask(10, 10, 2, 2, 2, 2),
      target: { x: 6, y: 6 },
    };
    const single = {
      kind: 'relocate' as const,
      source: blockMask(10, 10, 8, 0, 8, 0),
      target: { x: 8, y: 0 },
    };
    expect(pixelsOf(gradientMask([diagonal, single], { width: 10, height: 10 }))).toEqual([
      '8,0',
      '2,2',
      '3,3',
      '4,4',
      '5,5',
      '6,6',
    ]);
  });

  it('is resized to latent resolution by bilinear > 0.5', () => {
    const image = blockMask(32, 32, 0, 0, 15, 31);
    expect(() => latentGradientMask(blockMask(20, 16, 0, 0, 1, 1))).toThrow(RangeError);
    expect(pixelsOf(latentGradientMask(image))).toEqual([
      '0,0',
      '1,0',
      '0,1',
      '1,1',
      '0,2',
      '1,2',
      '0,3',
      '1,3',
    ]);
  });
});
