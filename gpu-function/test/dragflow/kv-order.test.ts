import { describe, expect, it } from 'vitest';
import { integrate, type VelocityField } from '../../src/dragflow/fireflow.ts';
import { type KvPairing, optimisationKvSet, samplingKvSet } from '../../src/dragflow/kv-order.ts';
import { editTimesteps } from '../../src/dragflow/schedule.ts';

/** The paper's schedule (25 steps, 6 skipped) at 512x512: 19 inversion steps capture 20 sets. */
async function pairings(pairing: KvPairing) {
  const { inversion, denoising } = editTimesteps(1024, 25, 6);
  const captureTimes: number[] = [];
  const capture: VelocityField = async (z, t, call) => {
    captureTimes[call.call] = t;
    return new Float32Array(z.length);
  };
  const { velocityCalls: captured } = await integrate(Float32Array.of(0), inversion, capture);
  /** Per sampling step, the sets its calls inject, and the times of the calls and of those captures. */
  const steps: { sets: number[]; times: number[]; captureTimes: number[] }[] = [];
  const reuse: VelocityField = async (z, t, call) => {
    const set = samplingKvSet(call.call, captured, pairing);
    steps[call.step] ??= { sets: [], times: [], captureTimes: [] };
    steps[call.step]!.sets.push(set);
    steps[call.step]!.times.push(t);
    steps[call.step]!.captureTimes.push(captureTimes[set]!);
    return new Float32Array(z.length);
  };
  await integrate(Float32Array.of(0), denoising, reuse);
  return { captured, captureTimes, steps, inversion };
}

describe('K/V set order', () => {
  it('reference_code: step r injects set 18 - r (step 0 starts with 19), the last step the t = 0 set', async () => {
    const { captured, captureTimes, steps } = await pairings('reference_code');
    expect(captured).toBe(20);
    // Step 0 makes two calls (start, midpoint), every later step one (its midpoint).
    expect(steps[0]!.sets).toEqual([19, 18]);
    expect(steps.slice(1).every((s) => s.sets.length === 1)).toBe(true);
    // The midpoint of every step, r = 0..18.
    expect(steps.map((s) => s.sets.at(-1))).toEqual([
      18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
    ]);
    expect(captureTimes[0]).toBe(0);
    // Every midpoint reuses a capture one inversion call earlier (lower t) than its own time.
    for (const step of steps) expect(step.captureTimes.at(-1)!).toBeLessThan(step.times.at(-1)!);
  });

  it('same_time: each call injects the set captured at its own time; set 0 is never used', async () => {
    const { captureTimes, steps, inversion } = await pairings('same_time');
    // Step 0 makes two calls (start, midpoint), every later step one (its midpoint).
    expect(steps[0]!.sets).toEqual([19, 19]);
    expect(steps.slice(1).every((s) => s.sets.length === 1)).toBe(true);
    // The midpoint of every step, r = 0..18.
    expect(steps.map((s) => s.sets.at(-1))).toEqual([
      19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
    ]);
    // Midpoints pair exactly with the inversion midpoints they retrace.
    for (const step of steps) expect(step.captureTimes.at(-1)).toBe(step.times.at(-1));
    // The first call (at the edit time) reuses the last capture, the inversion's final midpoint.
    expect(steps[0]!.captureTimes[0]).toBeCloseTo((inversion[18]! + inversion[19]!) / 2, 12);
    expect(captureTimes.length).toBe(20);
  });

  it('gives every optimisation pass the last set and refuses calls without a captured set', () => {
    expect(optimisationKvSet(20)).toBe(19);
    for (const pairing of ['reference_code', 'same_time'] as const) {
      expect(samplingKvSet(0, 20, pairing)).toBe(19);
      expect(() => samplingKvSet(20, 20, pairing)).toThrow(RangeError);
      expect(() => samplingKvSet(-1, 20, pairing)).toThrow(RangeError);
    }
    expect(() => optimisationKvSet(0)).toThrow(RangeError);
  });
});
