import { describe, expect, it } from 'vitest';
import { about, rotation, translation } from '../../src/dragflow/affine.ts';
import { createPlanes, resizeBilinear } from '../../src/dragflow/resample.ts';
import { warpMask, warpPlanes, warpSoftMask } from '../../src/dragflow/warp.ts';
import { blockMask, pixelsOf } from './helpers.ts';

/** Two channels over a 5x3 grid: channel 0 is x, channel 1 is 10 y. */
function ramps() {
  const planes = createPlanes(2, 3, 5);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 5; x++) {
      planes.data[y * 5 + x] = x;
      planes.data[15 + y * 5 + x] = 10 * y;
    }
  }
  return planes;
}

describe('warpPlanes', () => {
  it('moves content by an integer translation and repeats the border where nothing comes in', () => {
    const moved = warpPlanes(ramps(), translation(2, 1));
    // Output (x, y) samples source (x - 2, y - 1), clamped to the image.
    expect([...moved.data.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
    expect([...moved.data.subarray(15, 30)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10]);
  });

  it('interpolates a half-pixel translation', () => {
    const moved = warpPlanes(ramps(), translation(0.5, 0));
    expect([...moved.data.subarray(0, 5)]).toEqual([0, 0.5, 1.5, 2.5, 3.5]);
  });
});

describe('warpMask', () => {
  it('shifts a block by whole pixels exactly', () => {
    const moved = warpMask(blockMask(8, 6, 1, 1, 2, 2), translation(3, 2));
    expect(pixelsOf(moved)).toEqual(['4,3', '5,3', '4,4', '5,4']);
  });

  it('keeps > 0.5 after a half-pixel shift: the block loses the column that reads exactly 0.5', () => {
    // Columns 2..4 shifted by 0.5: output x reads x - 0.5, so x = 2 and x = 5 read 0.5 (out), 3 and 4 read 1.
    const moved = warpMask(blockMask(8, 1, 2, 0, 4, 0), translation(0.5, 0));
    expect(pixelsOf(moved)).toEqual(['3,0', '4,0']);
    const further = warpMask(blockMask(8, 1, 2, 0, 4, 0), translation(0.4, 0));
    // A 0.4 shift stays nearer the start: x = 2 reads 1.6 -> 0.6 (in); x = 5 reads 4.6 -> 0.4 (out).
    expect(pixelsOf(further)).toEqual(['2,0', '3,0', '4,0']);
  });

  it('turns an L by 90 degrees about a pixel centre onto exact pixels', () => {
    const mask = blockMask(7, 7, 3, 3, 5, 3);
    mask.data[4 * 7 + 3] = 1;
    // x' = 3 - (y - 3), y' = 3 + (x - 3): (4,3) -> (3,4), (5,3) -> (3,5), (3,4) -> (2,3).
    expect(pixelsOf(warpMask(mask, about({ x: 3, y: 3 }, rotation(Math.PI / 2))))).toEqual([
      '2,3',
      '3,3',
      '3,4',
      '3,5',
    ]);
  });

  it('drops what leaves the image and never smears from the edge (zero padding, as the reference)', () => {
    // Columns 3..5 of a 6-wide row moved 2 right: only column 5 (reading column 3) stays inside.
    expect(pixelsOf(warpMask(blockMask(6, 1, 3, 0, 5, 0), translation(2, 0)))).toEqual(['5,0']);
    // A block on the left edge moved 2 right is just the block at its new place: columns 0 and 1
    // read outside the image, zeros (border padding would have extended it to 0..3).
    expect(pixelsOf(warpMask(blockMask(6, 1, 0, 0, 1, 0), translation(2, 0)))).toEqual(['2,0', '3,0']);
    // Half a pixel off the edge: column 0 reads x = -0.5, half edge pixel and half zero: 0.5, not > 0.5.
    expect(pixelsOf(warpMask(blockMask(6, 1, 0, 0, 1, 0), translation(0.5, 0)))).toEqual(['1,0']);
  });

  it('moves features with border padding and masks with zeros over the same samples', () => {
    const soft = createPlanes(1, 1, 6);
    soft.data.set([1, 1, 0.7, 0, 0, 0]);
    expect([...warpPlanes(soft, translation(2, 0)).data]).toEqual([1, 1, 1, 1, Math.fround(0.7), 0]);
    expect([...warpPlanes(soft, translation(2, 0), 'zeros').data]).toEqual([0, 0, 1, 1, Math.fround(0.7), 0]);
    expect(pixelsOf(warpSoftMask(soft, translation(2, 0)))).toEqual(['2,0', '3,0', '4,0']);
  });
});

describe('resizeBilinear', () => {
  it('matches torch interpolate(bilinear, align_corners=False) on a ramp', () => {
    const row = createPlanes(1, 1, 4);
    row.data.set([0, 1, 2, 3]);
    expect([...resizeBilinear(row, 2, 1).data]).toEqual([0.5, 2.5]);
    const pair = createPlanes(1, 1, 2);
    pair.data.set([0, 1]);
    expect([...resizeBilinear(pair, 4, 1).data]).toEqual([0, 0.25, 0.75, 1]);
  });
});
