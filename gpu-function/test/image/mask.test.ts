import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pointFromRequest } from '../../src/dragflow/geometry.ts';
import type { InputError } from '../../src/image/input-error.ts';
import { decodeMask, polygonMask } from '../../src/image/mask.ts';
import { pixelsOf } from '../dragflow/helpers.ts';

const size = { width: 6, height: 4 };

async function png(channels: 1 | 3 | 4, values: number[][]): Promise<Buffer> {
  return sharp(Buffer.from(values.flat()), { raw: { width: size.width, height: size.height, channels } })
    .png()
    .toBuffer();
}

describe('decodeMask', () => {
  it('reads a grey mask as grey > 127', async () => {
    const grey = Array.from({ length: 24 }, (_, p) => [p === 1 ? 255 : p === 2 ? 128 : p === 3 ? 127 : 0]);
    expect(pixelsOf(await decodeMask(await png(1, grey), size, ['editable_mask']))).toEqual(['1,0', '2,0']);
  });

  it('reads colour by the mean of the channels', async () => {
    const colour = Array.from({ length: 24 }, (_, p) =>
      p === 0 ? [255, 0, 0] : p === 7 ? [200, 200, 0] : [0, 0, 0],
    );
    expect(pixelsOf(await decodeMask(await png(3, colour), size, ['editable_mask']))).toEqual(['1,1']);
  });

  it('reads a stroke on a transparent layer by alpha, whatever its colour', async () => {
    const layer = Array.from({ length: 24 }, (_, p) =>
      p === 5 ? [0, 0, 80, 255] : p === 6 ? [0, 0, 80, 100] : [255, 255, 255, 0],
    );
    expect(pixelsOf(await decodeMask(await png(4, layer), size, ['editable_mask']))).toEqual(['5,0']);
  });

  it('rejects a mask of another size or unreadable bytes, with its path', async () => {
    const other = await sharp({ create: { width: 5, height: 4, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const errorOf = async (input: Uint8Array) => {
      try {
        await decodeMask(input, size, ['operations', 1, 'source', 'mask']);
      } catch (error) {
        return [(error as InputError).code, (error as InputError).message];
      }
      throw new Error('expected a rejection');
    };
    expect(await errorOf(other)).toEqual([
      'mask_size_mismatch',
      'operations[1].source.mask: is 5x4 but the image is 6x4; they must match',
    ]);
    expect((await errorOf(Uint8Array.of(0, 1)))[0]).toBe('image_unreadable');
    // A grey mask too dark to select anything says the threshold and its brightest level.
    expect(
      await errorOf(
        await png(
          1,
          Array.from({ length: 24 }, () => [100]),
        ),
      ),
    ).toEqual([
      'empty_region',
      'operations[1].source.mask: selects no pixels: a pixel is selected when its grey level (mean of R, G, B) is above 127 of 255, and the highest here is 100',
    ]);
  });
});

describe('polygonMask', () => {
  it('fills the pixels whose centres a request rectangle covers', () => {
    // Request frame: the rectangle [1, 4] x [1, 3] covers pixel centres x 1.5, 2.5, 3.5 and y 1.5, 2.5.
    const ring = [
      pointFromRequest([1, 1]),
      pointFromRequest([4, 1]),
      pointFromRequest([4, 3]),
      pointFromRequest([1, 3]),
    ];
    expect(pixelsOf(polygonMask([ring], size))).toEqual(['1,1', '2,1', '3,1', '1,2', '2,2', '3,2']);
  });

  it('fills a triangle by its pixel centres and unites polygons sharing an edge without gaps', () => {
    // Centres inside (0,0)-(4,0)-(0,4) with the half-open rule: x < 4 - y on rows 0..3.
    const triangle = polygonMask(
      [
        [
          { x: 0, y: 0 },
          { x: 4, y: 0 },
          { x: 0, y: 4 },
        ],
      ],
      size,
    );
    expect(pixelsOf(triangle)).toEqual([
      '0,0',
      '1,0',
      '2,0',
      '3,0',
      '0,1',
      '1,1',
      '2,1',
      '0,2',
      '1,2',
      '0,3',
    ]);
    const left = [
      { x: -0.5, y: -0.5 },
      { x: 2, y: -0.5 },
      { x: 2, y: 3.5 },
      { x: -0.5, y: 3.5 },
    ];
    const right = [
      { x: 2, y: -0.5 },
      { x: 5.5, y: -0.5 },
      { x: 5.5, y: 3.5 },
      { x: 2, y: 3.5 },
    ];
    expect(pixelsOf(polygonMask([left, right], size))).toHaveLength(24);
    expect(pixelsOf(polygonMask([left], size))).toHaveLength(8);
  });
});
