import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { encodeImage } from '../../src/image/encode.ts';

const width = 64;
const height = 80;
const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);

describe('encodeImage', () => {
  it('writes PNG losslessly', async () => {
    const png = await encodeImage(rgb, width, height, { format: 'png' });
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const back = await decodeImage(png);
    expect([back.width, back.height]).toEqual([width, height]);
    expect(Buffer.from(back.rgb).equals(Buffer.from(rgb))).toBe(true);
  });

  it('writes JPEG and WebP at the asked quality', async () => {
    const jpeg = await encodeImage(rgb, width, height, { format: 'jpeg', quality: 80 });
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const webp = await encodeImage(rgb, width, height, { format: 'webp', quality: 80 });
    expect(webp.subarray(8, 12).toString('latin1')).toBe('WEBP');
    for (const file of [jpeg, webp]) {
      const meta = await sharp(file).metadata();
      expect([meta.width, meta.height]).toEqual([width, height]);
    }
    const better = await encodeImage(rgb, width, height, { format: 'jpeg', quality: 100 });
    expect(better.length).toBeGreaterThan(jpeg.length);
  });

  it('refuses a buffer of the wrong size or a quality out of 1..100', async () => {
    await expect(encodeImage(rgb.subarray(3), width, height, { format: 'png' })).rejects.toThrow(
      /needs 15360 bytes/,
    );
    await expect(encodeImage(rgb, width, height, { format: 'jpeg', quality: 0 })).rejects.toThrow(/quality/);
  });
});
