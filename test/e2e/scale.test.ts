/**
 * Scaling end to end on the demo bundle (the contract's `scale`: about the anchor, by
 * |target - anchor| / |centroid - anchor|). A square grows by 1.5 about its top-left corner, so every
 * intermediate square of the transport lies inside the final one and so does the source: the red
 * extent of the whole output is the scaled square's, whatever the demo leaves unrepainted.
 *
 * The centroid sits on a feature-cell centre: the operation rounds it to the feature grid (the paper's
 * rule for b), and the factor is measured from the rounded point.
 */
import { runEdit } from '@dragflow/gpu-function/pipeline/edit';
import { describe, expect, it } from 'vitest';
import {
  bar,
  blankScene,
  colourIn,
  paint,
  type Rgb,
  reportFigures,
  requestFor,
  useTemporaryCache,
} from './scenes.ts';

const RED: Rgb = [220, 40, 40];
const SIZE = 256;
useTemporaryCache('pipeline-scale-');

describe('scale on the demo bundle', () => {
  it('grows a square by 1.5 about its corner (linear factor within 10%, area ratio 1.8 to 2.25)', async () => {
    // Pixels 60..123 each way: continuous [60, 124), centroid 92 (feature cell 11). Anchor at the
    // corner (60, 60); target 60 + 1.5 x 32 = 108 asks for factor 1.5: the scaled square is [60, 156).
    const square = bar(91.5, 91.5, 64, 64, 0);
    const scaled = bar(107.5, 107.5, 96, 96, 0);
    const scene = blankScene(SIZE, SIZE);
    paint(scene, square, RED);
    const request = await requestFor(scene, [
      { kind: 'scale', shape: square, target: [108, 108], anchor: [60, 60] },
    ]);
    const output = { width: SIZE, height: SIZE, rgb: (await runEdit(request)).rgb };
    // Linear factor per axis: the red extent, counting the columns (rows) whose red pixels exceed half
    // the scaled side.
    const extent = (axis: 'x' | 'y') => {
      let lines = 0;
      for (let i = 0; i < SIZE; i++) {
        const line = colourIn(output, (x, y) => (axis === 'x' ? x : y) === i, RED);
        if (line.share > 0.5 * (96 / SIZE)) lines++;
      }
      return lines;
    };
    const factors = [extent('x') / 64, extent('y') / 64];
    const inside = colourIn(output, scaled, RED);
    const areaRatio = (inside.share * inside.area) / (64 * 64);
    // Measured: factors 1.39 and 1.375, area ratio 1.85 (2.25 asked), share 0.82. The growth falls short
    // at the rim: p (the warped mask > 0.5 at the 8-px feature cells) leaves the half-covered cells of
    // each moving edge unsupervised (up to 4 px each), and L1 steps leave noise in the grown band.
    reportFigures('scale 1.5', {
      factor_x: factors[0]!,
      factor_y: factors[1]!,
      area_ratio: areaRatio,
      share: inside.share,
    });
    for (const factor of factors) expect(Math.abs(factor / 1.5 - 1)).toBeLessThanOrEqual(0.1);
    expect(areaRatio).toBeGreaterThanOrEqual(1.8);
    expect(areaRatio).toBeLessThanOrEqual(2.25);
    expect(inside.share).toBeGreaterThanOrEqual(0.8);
  });
});
