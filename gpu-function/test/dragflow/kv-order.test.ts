import { describe, expect, it } from 'vitest';
import { integrate, type VelocityField } from '../../src/dragflow/fireflow.ts';
import { optimisationKvSet, samplingKvSet } from '../../src/dragflow/kv-order.ts';
import { editTimesteps } from '../../src/dragflow/schedule.ts';

describe('K/V set order', () => {
  it('pairs the 20 sampling calls with the 20 inversion captures in reverse', async () => {
    const { inversion, denoising } = editTimesteps(1024, 25, 6);
    const captureTimes: number[] = [];
    const reuseTimes: number[] = [];
    const capture: VelocityField = async (z, t, call) => {
      captureTimes[call.call] = t;
      return new Float32Array(z.length);
    };
    const { velocityCalls: captured } = await integrate(Float32Array.of(0), inversion, capture);
    const reuse: VelocityField = async (z, _t, call) => {
      reuseTimes.push(captureTimes[samplingKvSet(call.call, captured)]!);
      return new Float32Array(z.length);
    };
    await integrate(Float32Array.of(0), denoising, reuse);
    expect(captured).toBe(20);
    expect(reuseTimes).toEqual([...captureTimes].reverse());
    // The first sampling call (at the edit time) reuses the last capture, the inversion's final midpoint.
    expect(reuseTimes[0]).toBeCloseTo((inversion[18]! + inversion[19]!) / 2, 12);
    expect(optimisationKvSet(captured)).toBe(19);
  });

  it('refuses calls without a captured set', () => {
    expect(() => samplingKvSet(20, 20)).toThrow(RangeError);
    expect(() => samplingKvSet(-1, 20)).toThrow(RangeError);
    expect(() => optimisationKvSet(0)).toThrow(RangeError);
  });
});
