/**
 * Rotation end to end on the demo bundle: a bar turned about an anchor. The demo's features are local
 * to each latent cell, so a rotation (not a whole-token move) carries the bar's content; the vacated
 * source is not repainted (no generative prior), so the angle is measured on the target side only,
 * leaving the source out. 128x128 keeps each edit to a few seconds.
 */
import { runEdit } from '@dragflow/gpu-function/pipeline/edit';
import { ModelCache } from '@dragflow/gpu-function/pipeline/model-cache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bar,
  blankScene,
  colourIn,
  orientation,
  paint,
  type Rgb,
  reportFigures,
  requestFor,
  useTemporaryCache,
} from './scenes.ts';

const RED: Rgb = [220, 40, 40];
const SIZE = 128;
const ANCHOR = { x: 63.5, y: 79.5 };
const RADIUS = 44;
/**
 * Bar 64x24 (8 x 3 latent cells), centred RADIUS px above the anchor, horizontal. Three cells thick:
 * a two-cell bar (64x16) sits at the demo's resolution limit, where the measured angle follows the
 * trail of intermediate copies more than the bar (angle errors, latent-size maps / the reference
 * code's maps: 64x16 at 128x128 1.34 / 2.07 (60) and 0.03 / 3.14 (-45); 64x24 1.75 / 0.11 and
 * 4.82 / 1.79; the 64x16 scene at 256x256 0.78 / 0.13 and 0.70 / 0.26).
 */
const THICKNESS = 24;
const source = bar(ANCHOR.x, ANCHOR.y - RADIUS, 64, THICKNESS, 0);
let models: ModelCache;
useTemporaryCache('pipeline-rotation-');

beforeAll(() => {
  models = new ModelCache();
});

afterAll(async () => {
  await models.release();
});

/** Turns the bar by `degrees` (clockwise on screen) and measures its orientation and colour share. */
async function turn(degrees: number): Promise<{ angle: number; share: number }> {
  const scene = blankScene(SIZE, SIZE);
  paint(scene, source, RED);
  const radians = (degrees * Math.PI) / 180;
  // The bar's centroid goes to the target: RADIUS px from the anchor, turned by the angle.
  const centre = { x: ANCHOR.x + RADIUS * Math.sin(radians), y: ANCHOR.y - RADIUS * Math.cos(radians) };
  const request = await requestFor(scene, [
    {
      kind: 'rotate',
      shape: source,
      target: [centre.x + 0.5, centre.y + 0.5],
      anchor: [ANCHOR.x + 0.5, ANCHOR.y + 0.5],
    },
  ]);
  const result = await runEdit(request, { models });
  const output = { width: SIZE, height: SIZE, rgb: result.rgb };
  const around = bar(centre.x, centre.y, 72, THICKNESS + 8, degrees);
  return {
    angle: orientation(output, (x, y) => around(x, y) && !source(x, y), RED),
    share: colourIn(output, bar(centre.x, centre.y, 64, THICKNESS, degrees), RED).share,
  };
}

describe('rotation on the demo bundle', () => {
  it.each([60, -45])('turns a bar by %d degrees within 3 degrees', async (degrees) => {
    const { angle, share } = await turn(degrees);
    reportFigures(`rotation ${degrees}`, { measured_degrees: angle, bar_share: share });
    expect(Math.abs(angle - degrees)).toBeLessThanOrEqual(3);
    // Measured 0.900 (60) and 0.906 (-45); with latent-size maps, where p (the warped mask > 0.5 at
    // cell resolution) left the rim cells unsupervised, 0.827 and 0.876.
    expect(share).toBeGreaterThanOrEqual(0.65);
  });
});
