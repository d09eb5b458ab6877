/** The price table: tiers by pixel count, multiplied by the work the options ask for. */
import { describe, expect, it } from 'vitest';
import { BASE_WORK_UNITS, priceOf } from '../../src/billing/prices.ts';

describe('prices', () => {
  it('charges by pixel tier and by work relative to the paper preset', () => {
    expect(BASE_WORK_UNITS).toBe(108);
    expect(priceOf({ width: 512, height: 512 }, undefined)).toEqual({
      credits: 10,
      tierCredits: 10,
      workMultiplier: 1,
    });
    expect(priceOf({ width: 513, height: 512 }, undefined).credits).toBe(25);
    expect(priceOf({ width: 1024, height: 1024 }, { preset: 'reference_code' }).credits).toBe(25);
    expect(priceOf({ width: 2048, height: 1024 }, undefined).credits).toBe(50);
    // 2 x (50 - 6) + 200 + 20 = 308 passes: three times the paper work.
    expect(priceOf({ width: 256, height: 256 }, { steps: 50, transport_iterations: 200 })).toEqual({
      credits: 30,
      tierCredits: 10,
      workMultiplier: 3,
    });
    expect(
      priceOf({ width: 256, height: 256 }, { transport_iterations: 0, intensify_iterations: 0 }).credits,
    ).toBe(10);
  });
});
