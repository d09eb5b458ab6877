import { afterAll, describe, expect, it } from 'vitest';
import { fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { type FluxConfig, fluxConfigs } from '../../src/flux/config.ts';
import { buildDragStepGraph, dragStepNames } from '../../src/flux/drag-step.ts';
import { transformerFeeds } from '../../src/flux/feeds.ts';
import type { ComputeDtype } from '../../src/flux/precision.ts';
import { imagePositionIds, textPositionIds } from '../../src/flux/rope.ts';
import { buildVelocityGraph, names, type TokenGrid } from '../../src/flux/transformer.ts';
import type { Graph } from '../../src/graph/graph.ts';
import { createSession, type Feeds } from '../../src/graph/session.ts';
import { f32ToBf16, f32ToF16 } from '../../src/weights/dtype.ts';
import { emulate16Bit } from './emulate-16bit.ts';
import { maxRelativeError, randomArray, randomSource, randomWeights } from './reference-flux.ts';

/** A mid-size config: FLUX's wiring at 256 wide, 4 heads of 64 (36 image + 8 text tokens). */
const MID: FluxConfig = {
  ...fluxConfigs.tiny,
  name: 'mid',
  inChannels: 64,
  outChannels: 64,
  vecInDim: 32,
  contextInDim: 64,
  hiddenSize: 256,
  numHeads: 4,
  axesDim: [16, 24, 24],
  timestepEmbedDim: 64,
};

const CASES = [
  { config: fluxConfigs.tiny, grid: { batch: 1, height: 2, width: 3, textTokens: 4 } },
  { config: MID, grid: { batch: 1, height: 6, width: 6, textTokens: 8 } },
] as const satisfies readonly { config: FluxConfig; grid: TokenGrid }[];

const figures: string[] = [];

/** ||a - b|| / ||b||: the drag step uses the gradient's direction and size, not single entries
 * (an L1 loss's gradient flips sign wherever rounding moves a feature across its target). */
function relativeL2(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  b.forEach((x, i) => {
    diff += (a[i]! - x) ** 2;
    norm += x * x;
  });
  return Math.sqrt(diff / norm);
}

function setup(config: FluxConfig, grid: TokenGrid) {
  const weights = randomWeights(fluxCheckpointKeys(config), 17);
  const random = randomSource(23);
  const tokens = grid.height * grid.width;
  const feeds = transformerFeeds(config, grid, {
    img: randomArray(random, tokens * config.inChannels),
    imgIds: imagePositionIds(grid.height, grid.width),
    txt: randomArray(random, grid.textTokens * config.contextInDim),
    txtIds: textPositionIds(grid.textTokens),
    timesteps: [0.7],
    y: randomArray(random, config.vecInDim),
    guidance: [3.5],
  });
  const channels = 4 * (config.hiddenSize / 4);
  const map = grid.height * grid.width;
  const supervision: Feeds = {
    [dragStepNames.warpedFeatures]: randomArray(random, channels * map),
    [dragStepNames.regionMasks]: Float32Array.from({ length: map }, (_, i) => (i % 3 === 0 ? 0 : 1)),
    [dragStepNames.regionWeights]: Float32Array.of(1),
  };
  // Weights stored as the 16-bit graphs read them; the float32 reference reads the same values.
  const stored = (dtype: ComputeDtype) => {
    if (dtype === 'float32') return (name: string) => weights.get(name);
    const convert = dtype === 'bfloat16' ? f32ToBf16 : f32ToF16;
    const halves = new Map([...weights].map(([n, w]) => [n, convert(w)]));
    return (name: string) => halves.get(name);
  };
  return { weights, feeds, supervision, stored };
}

async function run(graph: Graph, feeds: Feeds) {
  return createSession(graph).then((session) => session(feeds));
}

describe('reduced-precision graphs against float32 on the same weights', () => {
  afterAll(() => {
    console.info(`figures reduced precision:\n  ${figures.join('\n  ')}`);
  });

  for (const { config, grid } of CASES) {
    it(`${config.name}: float16 runs on the CPU provider within bounds; bfloat16 rounding, emulated, too`, async () => {
      const { feeds, supervision, stored } = setup(config, grid);
      const options = (compute: ComputeDtype, storedAs: ComputeDtype) => ({
        grid,
        // Maps at the token grid's size keep the supervision feeds small.
        image: { height: 16 * grid.height, width: 16 * grid.width },
        mapSize: { height: grid.height, width: grid.width },
        compute,
        weights: { source: (spec: { name: string }) => stored(storedAs)(spec.name), stored: storedAs },
      });
      // Reference: float32 arithmetic on the bfloat16 / float16 values of the weights.
      const velocity = async (compute: ComputeDtype, emulate = false) => {
        const storedAs = compute === 'float32' ? 'float32' : compute;
        const g = buildVelocityGraph(config, options(compute, storedAs));
        return (await run(emulate ? emulate16Bit(g) : g, feeds))[names.velocity]!.data as Float32Array;
      };
      const reference = async (storedAs: ComputeDtype) =>
        (await run(buildVelocityGraph(config, options('float32', storedAs)), feeds))[names.velocity]!
          .data as Float32Array;
      const dragStep = async (compute: ComputeDtype, storedAs: ComputeDtype, emulate = false) => {
        const g = buildDragStepGraph(config, { ...options(compute, storedAs), regions: 1 });
        const out = await run(emulate ? emulate16Bit(g) : g, { ...feeds, ...supervision });
        return {
          loss: (out[dragStepNames.loss]!.data as Float32Array)[0]!,
          gradient: out[dragStepNames.gradient]!.data as Float32Array,
          features: out[dragStepNames.features]!.data as Float32Array,
        };
      };

      const f16 = maxRelativeError(await velocity('float16'), await reference('float16'));
      const bf16 = maxRelativeError(await velocity('bfloat16', true), await reference('bfloat16'));
      const [step16, step16Ref] = [
        await dragStep('float16', 'float16'),
        await dragStep('float32', 'float16'),
      ];
      const [stepBf, stepBfRef] = [
        await dragStep('bfloat16', 'bfloat16', true),
        await dragStep('float32', 'bfloat16'),
      ];
      const grad16 = relativeL2(step16.gradient, step16Ref.gradient);
      const gradBf = relativeL2(stepBf.gradient, stepBfRef.gradient);
      // The L1 loss's derivative sign(F - warped) flips wherever rounding moves a feature across its
      // target; those flips alone change dL/dF by 2 sqrt(flips / supervised) in relative L2.
      const flips = (a: Float32Array, b: Float32Array) => {
        const warped = supervision[dragStepNames.warpedFeatures] as Float32Array;
        const mask = supervision[dragStepNames.regionMasks] as Float32Array;
        let [count, total] = [0, 0];
        a.forEach((x, i) => {
          if (!mask[i % mask.length]) return;
          total++;
          if (Math.sign(x - warped[i]!) !== Math.sign(b[i]! - warped[i]!)) count++;
        });
        return 2 * Math.sqrt(count / total);
      };
      const flip16 = flips(step16.features, step16Ref.features);
      const flipBf = flips(stepBf.features, stepBfRef.features);
      const loss16 = Math.abs(step16.loss - step16Ref.loss) / step16Ref.loss;
      const lossBf = Math.abs(stepBf.loss - stepBfRef.loss) / stepBfRef.loss;
      figures.push(
        `${config.name}: velocity max rel err float16 ${f16.toExponential(2)}, bfloat16 (emulated) ${bf16.toExponential(2)}; ` +
          `drag-step gradient relative L2 float16 ${grad16.toExponential(2)}, bfloat16 ${gradBf.toExponential(2)} ` +
          `(L1 sign flips alone: ${flip16.toExponential(2)}, ${flipBf.toExponential(2)}); ` +
          `loss float16 ${loss16.toExponential(2)}, bfloat16 ${lossBf.toExponential(2)}`,
      );
      // Rounding is really there (the round trips are not optimised away) and bounded.
      for (const err of [f16, bf16, grad16, gradBf]) expect(err).toBeGreaterThan(0);
      expect(f16).toBeLessThan(5e-3);
      expect(bf16).toBeLessThan(4e-2);
      expect(grad16).toBeLessThan(5e-3);
      expect(gradBf).toBeLessThan(1.5e-1);
      // Beyond the L1 sign flips the backward pass adds little: the gradient error is of their order.
      expect(gradBf).toBeLessThan(2 * Math.max(flipBf, 1e-2));
      expect(Math.max(loss16, lossBf)).toBeLessThan(1e-2);
    });
  }
});
