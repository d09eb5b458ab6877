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
import {
  maxRelativeError,
  randomArray,
  randomSource,
  randomWeights,
  referenceFeatures,
} from './reference-flux.ts';

const tiny = fluxConfigs.tiny;
const grid: TokenGrid = { batch: 1, height: 2, width: 3, textTokens: 4 };
/** The image the grid covers (16 px per token): maps 32x48 / s = 2 = 16x24, upsampled from 4x6. */
const image = { height: 32, width: 48 };
const map = { height: 16, width: 24 };
const plane = map.height * map.width;
/** 4 taps x hidden / 4. */
const channels = 48;
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
// Two regions on the 16 x 24 map (48 channels): a block and a sparse pattern, weights summing to 1.
const supervision = {
  [dragStepNames.warpedFeatures]: array(2 * channels * plane),
  [dragStepNames.regionMasks]: Float32Array.from({ length: 2 * plane }, (_, i) => {
    const [y, x] = [Math.floor((i % plane) / map.width), i % map.width];
    return (i < plane ? y >= 3 && y < 12 && x >= 5 && x < 17 : (x + 2 * y) % 3 === 0) ? 1 : 0;
  }),
  [dragStepNames.regionWeights]: Float32Array.from([0.6, 0.4]),
};
const options = { grid, image, weights: { source }, regions: 2 };

describe('drag step graph', () => {
  it('computes sum_i gamma_i mean|F p_i - warpF0_i p_i| over all feature elements at image / s', async () => {
    const step = await createSession(buildDragStepGraph(tiny, options));
    const features = await createSession(buildFeatureGraph(tiny, { grid, image, weights: { source } }));
    const feeds = transformerFeeds(tiny, grid, call);
    const out = await step({ ...feeds, ...supervision });
    const tapped = await features(feeds);
    const f = tapped.features!.data as Float32Array;
    expect(out[dragStepNames.features]!.dims).toEqual([1, channels, map.height, map.width]);
    expect(Array.from(out[dragStepNames.features]!.data as Float32Array)).toEqual(Array.from(f));
    // The maps equal the independent reference's unpack + torch-bilinear upsampling of the taps.
    const taps = ['feature.0.modulated', 'feature.0.output', 'feature.1.modulated', 'feature.1.output'];
    const expectedMaps = referenceFeatures(
      taps.map((name) => tapped[name]!.data as Float32Array),
      grid,
      tiny.hiddenSize,
      map,
    );
    expect(maxRelativeError(f, expectedMaps)).toBeLessThan(1e-6);
    let expected = 0;
    for (let r = 0; r < 2; r++) {
      let sum = 0;
      for (let i = 0; i < f.length; i++) {
        const p = supervision[dragStepNames.regionMasks][r * plane + (i % plane)]!;
        sum += Math.abs(f[i]! * p - supervision[dragStepNames.warpedFeatures][r * f.length + i]! * p);
      }
      expected += supervision[dragStepNames.regionWeights][r]! * (sum / f.length);
    }
    expect(out[dragStepNames.loss]!.dims).toEqual([]);
    expect((out[dragStepNames.loss]!.data as Float32Array)[0]).toBeCloseTo(expected, 6);
  });

  it('gives d loss / d img matching central finite differences (rel err <= 1e-3), through the upsampling', async () => {
    const step = await createSession(buildDragStepGraph(tiny, options));
    // Targets at least 0.25 from F(img) in every element: the L1 terms keep their sign over the
    // differences' steps (thousands of terms, some would cross their kink with random targets).
    const f = (await step({ ...transformerFeeds(tiny, grid, call), ...supervision }))[dragStepNames.features]!
      .data as Float32Array;
    const offsets = array(2 * f.length);
    const targets = {
      ...supervision,
      [dragStepNames.warpedFeatures]: offsets.map((o, i) => f[i % f.length]! + o + Math.sign(o) * 0.25),
    };
    // The loss of the graph's own features, summed in float64: the graph's float32 loss rounds at
    // ~3e-8 while a step of epsilon moves it by ~1e-5 (a mean over 2 x 48 x 16 x 24 elements).
    const masks = targets[dragStepNames.regionMasks];
    const weights = targets[dragStepNames.regionWeights];
    const warped = targets[dragStepNames.warpedFeatures];
    const lossAt = async (img: Float32Array) => {
      const features = (await step({ ...transformerFeeds(tiny, grid, { ...call, img }), ...targets }))[
        dragStepNames.features
      ]!.data as Float32Array;
      let loss = 0;
      for (let r = 0; r < 2; r++) {
        let sum = 0;
        for (let i = 0; i < features.length; i++) {
          if (masks[r * plane + (i % plane)])
            sum += Math.abs(features[i]! - warped[r * features.length + i]!);
        }
        loss += (weights[r]! * sum) / features.length;
      }
      return loss;
    };
    const out = await step({ ...transformerFeeds(tiny, grid, call), ...targets });
    const gradient = out[dragStepNames.gradient]!.data as Float32Array;
    expect(out[dragStepNames.gradient]!.dims).toEqual([1, 6, tiny.inChannels]);
    // Features rounded in float32 and summed in float64: a step of 1e-2 keeps their noise and the
    // curvature well below the signal (measured worst relative error 5.8e-4; a step of 1e-1 is off by 4% on curvature).
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
      // Informative directions only: measured 1.05e-4 to 5.8e-4 (a mean over 36,864 map elements).
      expect(Math.abs(analytic)).toBeGreaterThan(5e-5);
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
    const kept = await (await createSession(buildDragStepGraph(tiny, options)))(feeds);
    const remat = await (
      await createSession(buildDragStepGraph(tiny, { ...options, rematerializeBlocks: true }))
    )(feeds);
    const a = kept[dragStepNames.gradient]!.data as Float32Array;
    const b = remat[dragStepNames.gradient]!.data as Float32Array;
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
  });

  it.each([
    [512, 512, 256, 256],
    [1024, 1536, 256, 384],
  ])(
    'builds for flux1-dev at %dx%d with KV injection, maps %dx%d (shape inference only)',
    (height, width, mapH, mapW) => {
      const grid = { batch: 1, height: height / 16, width: width / 16, textTokens: 512 };
      const graph = buildDragStepGraph(fluxConfigs['flux1-dev'], {
        grid,
        image: { height, width },
        kvOverride: DRAGFLOW_KV_BLOCKS,
        regions: 3,
        rematerializeBlocks: true,
      });
      const tokens = grid.height * grid.width;
      const outputs = new Map(graph.outputs.map((o) => [o.name, o.tensor.shape]));
      expect(outputs).toEqual(
        new Map([
          [dragStepNames.loss, []],
          [dragStepNames.gradient, [1, tokens, 64]],
          [dragStepNames.features, [1, 3072, mapH, mapW]],
        ]),
      );
      const inputs = new Map(graph.inputs.map((t) => [t.name, t.shape]));
      expect(inputs.get(dragStepNames.warpedFeatures)).toEqual([3, 3072, mapH, mapW]);
      expect(inputs.get(dragStepNames.regionMasks)).toEqual([3, 1, mapH, mapW]);
      expect(inputs.get(names.kvIn('double', 18, 'k'))).toEqual([1, 24, tokens, 128]);
      const params = graph.initializers.filter((i) => i.kind === 'param').map((i) => i.stored.name);
      expect(params.some((n) => n.startsWith('single_blocks.'))).toBe(false);
    },
  );

  it('refuses a batch above 1 and a region count outside [1, 16]', () => {
    expect(() => buildDragStepGraph(tiny, { grid: { ...grid, batch: 2 }, image, regions: 1 })).toThrow(
      FluxModelError,
    );
    expect(() => buildDragStepGraph(tiny, { grid, image, regions: 0 })).toThrow(
      'regions must be an integer in [1, 16], got 0',
    );
  });
});
