import { describe, expect, it } from 'vitest';
import {
  blendLatent,
  compositeBackground,
  featherWeights,
  packedLatentMask,
  unpackedLatentMask,
} from '../../src/dragflow/composite.ts';
import { distanceToSites } from '../../src/dragflow/distance-transform.ts';
import { createMask } from '../../src/dragflow/region.ts';
import { RGB8 } from '../../src/image/pixel-layout.ts';
import { blockMask } from './helpers.ts';

describe('distanceToSites', () => {
  it('gives exact Euclidean distances to the nearest site pixel', () => {
    const mask = blockMask(5, 5, 0, 0, 4, 4);
    mask.data[0] = 0; // the only site of value 0, at (0, 0)
    const d = distanceToSites(mask, 0);
    expect(d[0]).toBe(0);
    expect(d[4 * 5 + 3]).toBe(5);
    expect(d[2 * 5 + 2]).toBeCloseTo(Math.SQRT2 * 2, 12);
    expect(distanceToSites(createMask(3, 2), 1)[5]).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('latent blending', () => {
  it('takes z inside B and z_bg outside', () => {
    const out = blendLatent(Float32Array.of(1, 2, 3), Float32Array.of(7, 8, 9), Uint8Array.of(1, 0, 1));
    expect([...out]).toEqual([1, 8, 3]);
    expect(() => blendLatent(Float32Array.of(1), Float32Array.of(1, 2), Uint8Array.of(1))).toThrow(
      RangeError,
    );
  });

  it('lays B out like unpacked [C, H, W] and packed [(h w), (c ph pw)] latents', () => {
    // 4x2 latent with only pixel (x = 1, y = 0) and (x = 2, y = 1) inside.
    const mask = createMask(4, 2);
    mask.data[1] = 1;
    mask.data[4 + 2] = 1;
    expect([...unpackedLatentMask(mask, 2)]).toEqual([0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    // Token 0 holds pixels x 0..1, token 1 x 2..3; within a token, index c * 4 + ph * 2 + pw.
    expect([...packedLatentMask(mask, 2)]).toEqual([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
    expect(() => packedLatentMask(createMask(3, 2), 1)).toThrow(/even/);
  });
});

describe('final composite', () => {
  it('feathers linearly over 8 px inside B', () => {
    const strip = blockMask(24, 1, 4, 0, 23, 0);
    const w = featherWeights(strip);
    expect([...w.subarray(0, 13)]).toEqual([0, 0, 0, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1]);
    expect([...featherWeights(blockMask(3, 3, 0, 0, 2, 2))]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('keeps original bytes outside B and outside the crop', () => {
    // Original 5x2, crop 4x2 at (1, 0), B = the crop's column 2 (one pixel from the outside: weight 1/8).
    const original = {
      width: 5,
      height: 2,
      layout: RGB8,
      data: Uint8Array.from({ length: 30 }, (_, i) => i),
    };
    const edited = new Uint8Array(24).fill(200);
    const crop = { x: 1, y: 0, width: 4, height: 2 };
    const out = compositeBackground(original, edited, blockMask(4, 2, 2, 0, 2, 1), crop);
    const expected = [...original.data];
    for (const p of [3, 8]) {
      for (let c = 0; c < 3; c++)
        expected[p * 3 + c] = Math.round(200 / 8 + (7 / 8) * original.data[p * 3 + c]!);
    }
    expect([...out.data]).toEqual(expected);
    expect(() => compositeBackground(original, new Uint8Array(3), blockMask(4, 2, 0, 0, 0, 0))).toThrow(
      RangeError,
    );
    expect(() =>
      compositeBackground(original, edited, blockMask(4, 2, 0, 0, 0, 0), { ...crop, x: 2 }),
    ).toThrow(RangeError);
  });

  it('writes the model RGB into grey, alpha and 16-bit layouts and keeps samples outside B', () => {
    // 4x1 grey + alpha 16-bit image, crop = its last 3 pixels, B = the whole crop (every weight 1).
    const all = blockMask(3, 1, 0, 0, 2, 0);
    const edited = Uint8Array.of(255, 0, 0, 0, 255, 0, 10, 20, 30);
    const grey16Alpha = {
      width: 4,
      height: 1,
      layout: { grey: true, alpha: true, depth: 16 as const },
      data: Uint16Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    };
    const out = compositeBackground(grey16Alpha, edited, all, { x: 1, y: 0, width: 3, height: 1 });
    // Pixel 0 outside the crop keeps its samples; inside: luma x 257, alpha opaque.
    expect([...out.data]).toEqual([
      1,
      2,
      Math.round(0.299 * 255 * 257),
      65_535,
      Math.round(0.587 * 255 * 257),
      65_535,
      Math.round((0.299 * 10 + 0.587 * 20 + 0.114 * 30) * 257),
      65_535,
    ]);
    expect(out.data).toBeInstanceOf(Uint16Array);
    const rgba = {
      width: 3,
      height: 1,
      layout: { grey: false, alpha: true, depth: 8 as const },
      data: new Uint8Array(12),
    };
    // B is only the middle pixel: with a 1-px feather its weight is 1; its neighbours stay.
    const middle = compositeBackground(rgba, edited, blockMask(3, 1, 1, 0, 1, 0), undefined, 1);
    expect([...middle.data]).toEqual([0, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0, 0]);
  });
});
