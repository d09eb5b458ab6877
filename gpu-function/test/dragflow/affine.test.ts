import { describe, expect, it } from 'vitest';
import {
  about,
  applyAffine,
  compose,
  invertAffine,
  rotation,
  translation,
  uniformScaling,
  wrapDegrees,
} from '../../src/dragflow/affine.ts';

function expectMatrix(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(6);
  actual.forEach((v, i) => {
    expect(v).toBeCloseTo(expected[i]!, 12);
  });
}

describe('affine matrices', () => {
  it("rotates 90 degrees about (2, 3) as x' = 5 - y, y' = x + 1", () => {
    const m = about({ x: 2, y: 3 }, rotation(Math.PI / 2));
    expectMatrix(m, [0, -1, 5, 1, 0, 1]);
    const p = applyAffine(m, { x: 3, y: 3 });
    expect(p.x).toBeCloseTo(2, 12);
    expect(p.y).toBeCloseTo(4, 12);
    // The pivot stays put.
    const pivot = applyAffine(m, { x: 2, y: 3 });
    expect(pivot.x).toBeCloseTo(2, 12);
    expect(pivot.y).toBeCloseTo(3, 12);
  });

  it('composes outer after inner', () => {
    expectMatrix(compose(translation(1, 2), uniformScaling(3)), [3, 0, 1, 0, 3, 2]);
    expectMatrix(compose(uniformScaling(3), translation(1, 2)), [3, 0, 3, 0, 3, 6]);
  });

  it('inverts a rotation-scale-translation exactly', () => {
    const m = compose(translation(4, -7), compose(rotation(0.3), uniformScaling(2)));
    expectMatrix(compose(m, invertAffine(m)), [1, 0, 0, 0, 1, 0]);
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/singular/);
  });

  it('wraps angles to [-180, 180)', () => {
    expect(wrapDegrees(180)).toBe(-180);
    expect(wrapDegrees(-180)).toBe(-180);
    expect(wrapDegrees(190)).toBe(-170);
    expect(wrapDegrees(-190)).toBe(170);
    expect(wrapDegrees(-340)).toBe(20);
    expect(wrapDegrees(540)).toBe(-180);
    expect(wrapDegrees(45)).toBe(45);
  });
});
