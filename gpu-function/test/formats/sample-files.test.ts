import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodePngMask, readPngMask } from '../../src/formats/sample-files.ts';

describe('encodePngMask', () => {
  it('writes an 8-bit single-channel grey PNG of 0 and 255 that reads back as the same mask', async () => {
    const mask = {
      width: 5,
      height: 3,
      data: Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0]),
    };
    const png = await encodePngMask(mask);
    expect(await sharp(png).metadata()).toMatchObject({
      width: 5,
      height: 3,
      channels: 1,
      space: 'b-w',
      depth: 'uchar',
    });
    const grey = await sharp(png).extractChannel(0).raw().toBuffer();
    expect([...grey]).toEqual([...mask.data].map((v) => v * 255));
    expect(await readPngMask(png, 'mask.png')).toEqual(mask);
  });
});
