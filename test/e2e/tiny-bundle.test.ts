/**
 * An edit on a `bundle build --random --config tiny` bundle passed as --bundle: the FLUX.1
 * autoencoder graphs (at the tiny config's 2x downscale) and the transformer with the paper's
 * hyperparameters. Random weights produce noise inside B; outside B the output is the input.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRandomBundle } from '@dragflow/gpu-function/bundle/build';
import { runEdit } from '@dragflow/gpu-function/pipeline/edit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankScene, disk, paint, requestFor } from './scenes.ts';

let root: string;
const previousCache = process.env.DRAGFLOW_CACHE;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-tiny-'));
  process.env.DRAGFLOW_CACHE = join(root, 'cache');
  await buildRandomBundle('tiny', 5, join(root, 'tiny'));
});

afterAll(async () => {
  if (previousCache === undefined) delete process.env.DRAGFLOW_CACHE;
  else process.env.DRAGFLOW_CACHE = previousCache;
  await rm(root, { recursive: true, force: true });
});

describe('edit on the tiny random bundle', () => {
  it('runs every phase with the paper settings and keeps the background outside B', async () => {
    const shape = disk(27.5, 27.5, 10);
    const scene = blankScene(64, 64);
    paint(scene, shape, [220, 40, 40]);
    const request = await requestFor(scene, [{ kind: 'relocate', shape, target: [44, 28] }]);
    const result = await runEdit(request, { bundleDir: join(root, 'tiny') });
    const m = result.metrics;
    expect(m.model).toBe('tiny');
    expect(m.calls).toEqual({ velocity: 60, features: 1, drag_step: 70, vae: 2 });
    // The paper's learning rates (no tuning for this model); feature maps the reference code's size,
    // image 64x64 / 2, which here is the latent's own size (the tiny autoencoder downscales by 2).
    expect(m.learning_rates).toEqual({ transport: 1000, intensify: 1200 });
    expect(m.feature_map).toEqual({ width: 32, height: 32 });
    expect(m.notes.join('\n')).toContain('Random weights (seed 5)');
    let changedOutside = 0;
    let changedInside = 0;
    for (let p = 0; p < 64 * 64; p++) {
      const differs = [0, 1, 2].some((c) => result.rgb[p * 3 + c] !== scene.rgb[p * 3 + c]);
      if (result.editableMask.data[p]) changedInside += differs ? 1 : 0;
      else changedOutside += differs ? 1 : 0;
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(100);
  });
});
