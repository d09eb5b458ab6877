/**
 * The work plan (issue 12 item 1, issue 15 item 6): working size, crop around B, estimate, budget.
 */
import { PRESETS } from '@dragflow/shared/presets';
import { describe, expect, it } from 'vitest';
import { demoPlan } from '../../src/bundle/demo.ts';

import { autoEncoderConfigs, fluxConfigs } from '../../src/flux/config.ts';
import {
  CONTEXT_MIN_PX,
  CPU_PROFILE,
  checkBudget,
  chooseCrop,
  costTerms,
  estimateEdit,
  maskBounds,
  type PlannedModel,
  planWorkingSize,
  predictedCalls,
  type Rect,
} from '../../src/pipeline/work-plan.ts';
import { blockMask } from '../dragflow/helpers.ts';

/** The demo bundle as the planner reads it (its weights: 152 MB). */
const demo: PlannedModel = {
  model: 'demo',
  config: demoPlan().config,
  weight_files: [{ bytes: 152_203_261 }],
};

function contains(outer: Rect, inner: Rect): boolean {
  return (
    outer.x <= inner.x &&
    outer.y <= inner.y &&
    outer.x + outer.width >= inner.x + inner.width &&
    outer.y + outer.height >= inner.y + inner.height
  );
}

describe('chooseCrop', () => {
  it('edits a photo within the working size whole, sides resized to the nearest multiple of 16', () => {
    expect(chooseCrop({ width: 512, height: 384 }, null, 512 * 512)).toEqual({
      crop: { x: 0, y: 0, width: 512, height: 384 },
      working: { width: 512, height: 384 },
    });
    // 100 -> 96 and 70 -> 64: every pixel of the photo goes in (a resize, not a crop).
    expect(chooseCrop({ width: 100, height: 70 }, { x: 10, y: 10, width: 5, height: 5 }, 512 * 512)).toEqual({
      crop: { x: 0, y: 0, width: 100, height: 70 },
      working: { width: 96, height: 64 },
    });
    // 1000 x 750 needs no shrinking at 1 MP: 1008 x 752.
    expect(chooseCrop({ width: 1000, height: 750 }, null, 1024 * 1024).working).toEqual({
      width: 1008,
      height: 752,
    });
  });

  it('crops a large photo around a small B at full resolution, with context, within the pixel budget', () => {
    const box = { x: 1500, y: 400, width: 100, height: 80 };
    const { crop, working } = chooseCrop({ width: 2048, height: 1024 }, box, 512 * 512);
    const margin = CONTEXT_MIN_PX;
    expect(
      contains(crop, {
        x: box.x - margin,
        y: box.y - margin,
        width: box.width + 2 * margin,
        height: box.height + 2 * margin,
      }),
    ).toBe(true);
    expect(contains({ x: 0, y: 0, width: 2048, height: 1024 }, crop)).toBe(true);
    // Full resolution: the crop already has the working size (multiples of 16), nothing is resampled.
    expect(working).toEqual({ width: crop.width, height: crop.height });
    expect(working.width % 16).toBe(0);
    expect(working.height % 16).toBe(0);
    expect(working.width * working.height).toBeLessThanOrEqual(512 * 512);
    // The window grows to nearly the whole budget: context comes free at the same working size.
    expect(working.width * working.height).toBeGreaterThan(0.95 * 512 * 512);
  });

  it('shrinks B plus its context when they are larger than the working size', () => {
    const box = { x: 100, y: 100, width: 1800, height: 700 };
    const { crop, working } = chooseCrop({ width: 2048, height: 1024 }, box, 512 * 512);
    expect(crop).toEqual({ x: 0, y: 0, width: 2048, height: 1024 });
    expect(working).toEqual({ width: 720, height: 352 });
    expect(working.width * working.height).toBeLessThanOrEqual(512 * 512);
  });

  it('refuses a pixel budget outside the contract image range', () => {
    expect(() => chooseCrop({ width: 64, height: 64 }, null, 100)).toThrow(/maxWorkingPixels must be in/);
  });
});

describe('estimate', () => {
  it('counts the transformer calls of each preset exactly as the pipeline makes them', () => {
    // Paper: 19 inversion steps (20 calls), 2 x 20 sampling calls, F0, 70 drag steps = 131.
    expect(predictedCalls(PRESETS.paper)).toEqual({ velocity: 60, features: 1, drag_step: 70 });
    expect(predictedCalls(PRESETS.reference_code)).toEqual({ velocity: 61, features: 1, drag_step: 70 });
    expect(predictedCalls(PRESETS.fast)).toEqual({ velocity: 30, features: 1, drag_step: 22 });
    expect(predictedCalls({ ...PRESETS.paper, intensify_iterations: 0 }).features).toBe(2);
  });

  it('reproduces the CPU runs it was fitted on (bench:calibrate) within 13%', () => {
    // bench:calibrate's short runs (steps 6, skip 1, 6 + 2 drag iterations): peak RSS in bytes.
    const settings = {
      ...PRESETS.paper,
      steps: 6,
      skip_steps: 1,
      transport_iterations: 6,
      intensify_iterations: 2,
    };
    const measured: [number, number, number][] = [
      [128, 128, 0.498e9],
      [256, 256, 0.928e9],
      [512, 512, 2.629e9],
      [768, 768, 4.219e9],
      [1024, 512, 2.956e9],
      [1024, 1024, 6.924e9],
    ];
    for (const [width, height, bytes] of measured) {
      const { peak_memory_bytes } = estimateEdit(demo, { width, height }, settings);
      expect(Math.abs(peak_memory_bytes / bytes - 1)).toBeLessThan(0.13);
    }
  });

  it('grows with the attention scores (quadratic in tokens) and counts forward passes like the metrics', () => {
    const small = estimateEdit(demo, { width: 256, height: 256 }, PRESETS.paper);
    const large = estimateEdit(demo, { width: 1024, height: 1024 }, PRESETS.paper);
    expect([small.image_tokens, large.image_tokens]).toEqual([256, 4096]);
    expect(small.transformer_calls).toBe(131);
    // Demo: the drag step runs 2 of 3 blocks, so one costs 2 x 2/3 of a forward.
    expect(small.forward_pass_equivalents).toBeCloseTo(60 + (2 / 3) * (1 + 2 * 70), 10);
    // 512x512 and 1024x1024 have the same supervision maps (256x256: the image / 2 and / 4), so
    // what grows between them is the K/V cache (linear in tokens) and the scores (quadratic): more
    // than the 4x of the tokens.
    const mid = estimateEdit(demo, { width: 512, height: 512 }, PRESETS.paper);
    const beyondMaps = (e: typeof mid) =>
      e.peak_memory_bytes -
      costTerms(demo, { width: 512, height: 512 }, PRESETS.paper).mapBytes *
        CPU_PROFILE.supervisionMapCopies -
      CPU_PROFILE.baseBytes -
      152_203_261;
    expect(beyondMaps(large) / beyondMaps(mid)).toBeGreaterThan(8);
    expect(large.seconds).toBeGreaterThan(16 * (small.seconds - CPU_PROFILE.setupSeconds));
  });
});

describe('planWorkingSize and checkBudget', () => {
  const b = blockMask(2048, 1024, 1500, 400, 1599, 479);

  it('uses the model default working size and bounds B', () => {
    expect(maskBounds(b)).toEqual({ x: 1500, y: 400, width: 100, height: 80 });
    const plan = planWorkingSize({
      image: { width: 2048, height: 1024 },
      editable: b,
      settings: PRESETS.paper,
      manifest: demo,
    });
    expect(plan.maxWorkingPixels).toBe(512 * 512);
    const flux: PlannedModel = {
      model: 'flux1-dev',
      config: {
        ...demo.config,
        transformer: { ...fluxConfigs['flux1-dev'], axesDim: [...fluxConfigs['flux1-dev'].axesDim] },
        autoencoder: {
          ...autoEncoderConfigs['flux1-ae'],
          chMult: [...autoEncoderConfigs['flux1-ae'].chMult],
        },
      },
      weight_files: [{ bytes: 23.8e9 }],
    };
    expect(
      planWorkingSize({
        image: { width: 2048, height: 1024 },
        editable: b,
        settings: PRESETS.paper,
        manifest: flux,
      }).maxWorkingPixels,
    ).toBe(1024 * 1024);
  });

  it('refuses a plan over the memory or time budget with over_budget, naming the figures', () => {
    const plan = planWorkingSize({
      image: { width: 2048, height: 1024 },
      editable: b,
      settings: PRESETS.fast,
      manifest: demo,
      maxWorkingPixels: 256 * 256,
    });
    const { peak_memory_bytes: bytes, seconds } = plan.estimate;
    expect(checkBudget(plan, { memoryBytes: bytes, seconds })).toBeNull();
    const memory = checkBudget(plan, { memoryBytes: 2 ** 29, seconds });
    expect(memory).toEqual({
      code: 'over_budget',
      path: ['image'],
      message: `image: the edit needs an estimated ${(bytes / 2 ** 30).toFixed(2)} GiB of memory at the working size ${plan.working.width}x${plan.working.height}; the budget is 0.50 GiB`,
    });
    const { width, height } = plan.working;
    expect(checkBudget(plan, { memoryBytes: bytes, seconds: 1 })?.message).toBe(
      `image: the edit needs an estimated ${Math.ceil(seconds)} s at the working size ${width}x${height}; the budget is 1 s`,
    );
  });
});
