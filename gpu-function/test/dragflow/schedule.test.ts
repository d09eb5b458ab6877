import { PRESETS } from '@dragflow/shared/presets';
import { describe, expect, it } from 'vitest';
import { dragSchedule } from '../../src/dragflow/drag-schedule.ts';
import {
  editTimesteps,
  imageTokenCount,
  shiftedTimesteps,
  shiftMu,
  shiftTime,
} from '../../src/dragflow/schedule.ts';

describe('shifted schedule', () => {
  it('puts mu on the line through (256, 0.5) and (4096, 1.15)', () => {
    expect(shiftMu(256)).toBeCloseTo(0.5, 12);
    expect(shiftMu(4096)).toBeCloseTo(1.15, 12);
    // 512 x 512: 1024 tokens, mu = 0.5 + 0.65 * 768 / 3840 = 0.63.
    expect(imageTokenCount(512, 512)).toBe(1024);
    expect(shiftMu(1024)).toBeCloseTo(0.63, 12);
  });

  it('maps t by e^mu / (e^mu + 1/t - 1), fixing 0 and 1', () => {
    expect(shiftTime(0, 0.63)).toBe(0);
    expect(shiftTime(1, 0.63)).toBe(1);
    // t = 1/2 gives the logistic of mu.
    expect(shiftTime(0.5, 0.63)).toBeCloseTo(1 / (1 + Math.exp(-0.63)), 12);
    const times = shiftedTimesteps(1024, 25);
    expect(times).toHaveLength(26);
    expect(times[6]).toBeCloseTo(Math.exp(0.63) / (Math.exp(0.63) + 1 / 0.76 - 1), 12);
    expect(times[6]).toBeCloseTo(0.856, 3);
  });

  it('inverts 19 steps up to timesteps[6] and denoises the same 19 back', () => {
    const { inversion, denoising, editTime } = editTimesteps(1024, 25, 6);
    expect(inversion).toHaveLength(20);
    expect(denoising).toHaveLength(20);
    expect(inversion[0]).toBe(0);
    expect(denoising[19]).toBe(0);
    expect(editTime).toBe(shiftedTimesteps(1024, 25)[6]);
    expect(inversion[19]).toBe(editTime);
    expect([...inversion].reverse()).toEqual(denoising);
    expect(() => editTimesteps(1024, 25, 25)).toThrow(RangeError);
  });
});

describe('drag schedule', () => {
  it('transports k/50 of the transform at lr 1000, then intensifies at the full transform', () => {
    const paper = dragSchedule(PRESETS.paper);
    expect(paper).toHaveLength(70);
    expect(paper[0]).toEqual({ iteration: 1, phase: 'transport', fraction: 0.02, learningRate: 1000 });
    expect(paper[24]).toEqual({ iteration: 25, phase: 'transport', fraction: 0.5, learningRate: 1000 });
    expect(paper[49]).toEqual({ iteration: 50, phase: 'transport', fraction: 1, learningRate: 1000 });
    expect(paper[50]).toEqual({ iteration: 51, phase: 'intensify', fraction: 1, learningRate: 1200 });
    expect(dragSchedule(PRESETS.reference_code)[69]).toEqual({
      iteration: 70,
      phase: 'intensify',
      fraction: 1,
      learningRate: 1000,
    });
  });
});
