import { describe, expect, it } from 'vitest';
import { fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { fluxConfigs } from '../../src/flux/config.ts';
import { buildDragStepGraph, dragStepNames } from '../../src/flux/drag-step.ts';
import { FluxModelError } from '../../src/flux/errors.ts';
import { buildFeatureGraph } from '../../src/flux/features.ts';
import { transformerFeeds } from '../../src/flux/feeds.ts';
import { imagePositionIds, textPositionIds } from '../../src/flux/rope.ts';
import { DRAGFLOW_KV_BLOCKS, names, type TokenGrid } from '../../src/flux/transformer.ts';
import { createSession } from '../../src/graph/session.ts';
import { randomArray, randomSource, randomWeights } from './reference-flux.ts';

const tiny = fluxConfigs.tiny;
const grid: TokenGrid = { batch: 1, height: 2, width: 3, textTokens: 4 };
const weights = randomWeights(fluxCheckpointKeys(tiny), 21);
const source = (spec: { name: string }) => weights.get(spec.name);
const random = randomSource(99);
const array = (length: number) => randomArray(random, length);

const call = {
  img: array(6 * tiny.inChannels),
  imgIds: imagePositionIds(2, 3),
  txt: array(4 * tiny.contextInDim),
  txtIds: textPositionIds(4),
  timesteps: [0.86],
  y: array(tiny.vecInDim),
  guidance: [3.5],
};
// Two regions on the 2 x 3 feature map (48 channels): partial masks, weights summing to 1.
const supervision = {
  [dragStepNames.warpedFeatures]: array(2 * 48 * 6),
  [dragStepNames.regionMasks]: Float32Array.from([1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1]),
  [dragStepNames.regionWeights]: Float32Array.from([0.6, 0.4]),
};

describe('drag step graph', () => {
  it('computes sum_i gamma_i mean|F p_i - warpF0_i p_i| over all feature elements', async () => {
    const step = await createSession(buildDragStepGraph(tiny, { grid, weights: { source }, regions: 2 }));
    const features = await createSession(buildFeatureGraph(tiny, { grid, weights: { source } }));
    const feeds = transformerFeeds(tiny, grid, call);
    const out = await step({ ...feeds, ...supervision });
    const f = (await features(feeds)).features!.data as Float32Array;
    expect(Array.from(out[dragStepNames.features]!.data as Float32Array)).toEqual(Array.from(f));
    let expected = 0;
    for (let r = 0; r < 2; r++) {
      let sum = 0;
      for (let i = 0; i < f.length; i++) {
        const p = supervision[dragStepNames.regionMasks][r * 6 + (i % 6)]!;
        sum += Math.abs(f[i]! * p - supervision[dragStepNames.warpedFeatures][r * f.length + i]! * p);
      }
      expected += supervision[dragStepNames.regionWeights][r]! * (sum / f.length);
    }
    expect(out[dragStepNames.loss]!.dims).toEqual([]);
    expect((out[dragStepNames.loss]!.data as Float32Array)[0]).toBeCloseTo(expected, 6);
  });

  it('gives d loss / d img matching central finite differences (rel err <= 1e-3)', async () => {
    const step = await createSession(buildDragStepGraph(tiny, { grid, weights: { source }, regions: 2 }));
    const lossAt = async (img: Float32Array) =>
      (
        (await step({ ...transformerFeeds(tiny, grid, { ...call, img }), ...supervision }))[
          dragStepNames.loss
        ]!.data as Float32Array
      )[0]!;
    const out = await step({ ...transformerFeeds(tiny, grid, call), ...supervision });
    const gradient = out[dragStepNames.gradient]!.data as Float32Array;
    expect(out[dragStepNames.gradient]!.dims).toEqual([1, 6, tiny.inChannels]);
    // float32 graph: a step of 1e-2 keeps the loss's rounding error (~1e-8) well below the signal.
    const epsilon = 1e-2;
    // Directional derivatives along random directions, then the largest single coordinates.
    const directions = [0, 1, 2].map(() => array(call.img.length));
    const largest = Array.from(gradient.keys())
      .sort((a, b) => Math.abs(gradient[b]!) - Math.abs(gradient[a]!))
      .slice(0, 4)
      .map((index) => {
        const unit = new Float32Array(call.img.length);
        unit[index] = 1;
        return unit;
      });
    let worst = 0;
    for (const direction of [...directions, ...largest]) {
      const shifted = (sign: number) => call.img.map((v, i) => v + sign * epsilon * direction[i]!);
      const numeric = ((await lossAt(shifted(1))) - (await lossAt(shifted(-1)))) / (2 * epsilon);
      const analytic = gradient.reduce((a, g, i) => a + g * direction[i]!, 0);
      expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
      const relative = Math.abs(numeric - analytic) / Math.abs(analytic);
      expect(relative).toBeLessThanOrEqual(1e-3);
      worst = Math.max(worst, relative);
    }
    console.info(
      `figures drag-step gradient vs central differences: worst relative error ${worst.toExponential(2)}`,
    );
  });

  it('gives the same gradient when double blocks are rematerialized', async () => {
    const feeds = { ...transformerFeeds(tiny, grid, call), ...supervision };
    const kept = await (
      await createSession(buildDragStepGraph(tiny, { grid, weights: { source }, regions: 2 }))
    )(feeds);
    const remat = await (
      await createSession(
        buildDragStepGraph(tiny, { grid, weights: { source }, regions: 2, rematerializeBlocks: true }),
      )
    )(feeds);
    const a = kept[dragStepNames.gradient]!.data as Float32Array;
    const b = remat[dragStepNames.gradient]!.data as Float32Array;
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
  });

  it('builds for flux1-dev at 512x512 with KV injection (shape inference only)', () => {
    const graph = buildDragStepGraph(fluxConfigs['flux1-dev'], {
      grid: { batch: 1, height: 32, width: 32, textTokens: 512 },
      kvOverride: DRAGFLOW_KV_BLOCKS,
      regions: 3,
      rematerializeBlocks: true,
    });
    const outputs = new Map(graph.outputs.map((o) => [o.name, o.tensor.shape]));
    expect(outputs).toEqual(
      new Map([
        [dragStepNames.loss, []],
        [dragStepNames.gradient, [1, 1024, 64]],
        [dragStepNames.features, [1, 3072, 32, 32]],
      ]),
    );
    const inputs = new Map(graph.inputs.map((t) => [t.name, t.shape]));
    expect(inputs.get(dragStepNames.warpedFeatures)).toEqual([3, 3072, 32, 32]);
    expect(inputs.get(dragStepNames.regionMasks)).toEqual([3, 1, 32, 32]);
    expect(inputs.get(names.kvIn('double', 18, 'k'))).toEqual([1, 24, 1024, 128]);
    const params = graph.initializers.filter((i) => i.kind === 'param').map((i) => i.stored.name);
    expect(params.some((n) => n.startsWith('single_blocks.'))).toBe(false);
  });

  it('refuses a batch above 1 and a region count outside [1, 16]', () => {
    expect(() => buildDragStepGraph(tiny, { grid: { ...grid, batch: 2 }, regions: 1 })).toThrow(
      FluxModelError,
    );
    expect(() => buildDragStepGraph(tiny, { grid, regions: 0 })).toThrow(
      'regions must be an integer in [1, 16], got 0',
    );
  });
});
