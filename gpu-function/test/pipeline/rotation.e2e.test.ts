/**
 * Rotation end to end. The demo bundle's img_in mixes the four 2x2 latent cells of a token (a
 * 768-point DCT over the packed token), so its features at latent size are not local to a cell and
 * only whole-token moves carry content. This test builds the demo bundle with one change, a
 * cell-local img_in (the gain x a 192-point DCT on each cell, in the packed (c ph pw) order), which
 * is the change proposed for bundle/demo-transformer.ts; everything else is the demo recipe.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedCheckpoint } from '../../src/bundle/checkpoint-source.ts';
import { demoPlan } from '../../src/bundle/demo.ts';
import {
  DEMO_FEATURE_GAIN,
  DEMO_FLUX_CONFIG,
  demoTransformerParameter,
} from '../../src/bundle/demo-transformer.ts';
import { DEMO_LATENT_CHANNELS, dctMatrix } from '../../src/bundle/demo-vae.ts';
import { writeBundle } from '../../src/bundle/write.ts';
import { fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { runEdit } from '../../src/pipeline/edit.ts';
import { bar, blankScene, colourIn, orientation, paint, type Rgb, requestFor } from './scenes.ts';

const RED: Rgb = [220, 40, 40];
let root: string;
const bundleDir = () => join(root, 'cell-local-demo');
const previousCache = process.env.DRAGFLOW_CACHE;

/** img_in weight [out, in]: hidden (c, cell) <- gain x DCT192[c, c'] x latent (c', same cell). */
function cellLocalImgIn(): Uint8Array {
  const channels = DEMO_LATENT_CHANNELS;
  const hidden = 4 * channels;
  const dct = dctMatrix(channels);
  const weight = new Float32Array(hidden * hidden);
  for (let c = 0; c < channels; c++) {
    for (let source = 0; source < channels; source++) {
      for (let cell = 0; cell < 4; cell++) {
        weight[(c * 4 + cell) * hidden + source * 4 + cell] = DEMO_FEATURE_GAIN * dct[c * channels + source]!;
      }
    }
  }
  return new Uint8Array(weight.buffer);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-rotation-'));
  process.env.DRAGFLOW_CACHE = join(root, 'cache');
  const plan = demoPlan();
  plan.weights[0] = {
    file: 'transformer.weights',
    source: generatedCheckpoint('demo-transformer', fluxCheckpointKeys(DEMO_FLUX_CONFIG), 'F32', (t) =>
      t.name === 'img_in.weight' ? [cellLocalImgIn()] : demoTransformerParameter(t.name, t.shape),
    ),
  };
  plan.origin = { kind: 'constructed', recipe: 'the demo recipe with a cell-local img_in (test variant)' };
  await writeBundle(bundleDir(), plan);
}, 60_000);

afterAll(async () => {
  if (previousCache === undefined) delete process.env.DRAGFLOW_CACHE;
  else process.env.DRAGFLOW_CACHE = previousCache;
  await rm(root, { recursive: true, force: true });
});

describe('rotation', () => {
  it('turns a bar by the requested angle within 3 degrees', async () => {
    // Bar 96x24 centred on pixel (123.5, 51.5), turned 60 degrees (clockwise on screen) about
    // (123.5, 139.5): its centroid goes to the target, 88 px from the anchor.
    const source = bar(123.5, 51.5, 96, 24, 0);
    const scene = blankScene(256, 256);
    paint(scene, source, RED);
    const angle = (60 * Math.PI) / 180;
    const centre = { x: 123.5 + 88 * Math.sin(angle), y: 139.5 - 88 * Math.cos(angle) };
    const request = await requestFor(scene, [
      { kind: 'rotate', shape: source, target: [centre.x + 0.5, centre.y + 0.5], anchor: [124, 140] },
    ]);
    const result = await runEdit(request, { bundleDir: bundleDir() });
    const output = { width: 256, height: 256, rgb: result.rgb };
    // Measured where the turned bar should be, leaving out the source (not repainted on the demo).
    const around = bar(centre.x, centre.y, 104, 32, 60);
    const measured = orientation(output, (x, y) => around(x, y) && !source(x, y), RED);
    expect(Math.abs(measured - 60)).toBeLessThanOrEqual(3);
    expect(colourIn(output, bar(centre.x, centre.y, 96, 24, 60), RED).share).toBeGreaterThanOrEqual(0.8);
  }, 60_000);
});
