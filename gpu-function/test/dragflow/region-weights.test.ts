import { describe, expect, it } from 'vitest';
import { regionWeight, regionWeights } from '../../src/dragflow/region-weights.ts';
import { blockMask } from './helpers.ts';

describe('region weights', () => {
  it('follows w = clamp(1 + 0.5 / (S + 0.1), 1, 5)', () => {
    expect(regionWeight(0.4)).toBeCloseTo(2, 12);
    expect(regionWeight(0.025)).toBe(5);
    expect(regionWeight(0.01)).toBe(5);
    expect(regionWeight(1)).toBeCloseTo(1 + 0.5 / 1.1, 12);
  });

  it('normalises to gamma; a single operation gets 1', () => {
    expect(regionWeights([blockMask(10, 10, 0, 0, 4, 9)])).toEqual([1]);
    // 1 pixel of 100 -> S = 0.01 -> w = 5; 40 pixels -> S = 0.4 -> w = 2.
    const [small, large] = regionWeights([blockMask(10, 10, 0, 0, 0, 0), blockMask(10, 10, 0, 0, 3, 9)]);
    expect(small).toBeCloseTo(5 / 7, 12);
    expect(large).toBeCloseTo(2 / 7, 12);
  });
});
