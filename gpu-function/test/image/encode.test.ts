import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { encodeImage, encodeSamples } from '../../src/image/encode.ts';
import { formatLosses } from '../../src/image/pixel-layout.ts';

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
      /needs 15360 samples/,
    );
    await expect(encodeImage(rgb, width, height, { format: 'jpeg', quality: 0 })).rejects.toThrow(/quality/);
  });
});

describe('encodeSamples', () => {
  const grey = { grey: true, alpha: false, depth: 8 as const };
  const rgba16 = { grey: false, alpha: true, depth: 16 as const };

  it('writes PNG in the input layout exactly: 16-bit RGBA and 8-bit greyscale', async () => {
    const data16 = Uint16Array.from({ length: width * height * 4 }, (_, i) => (i * 40_503) % 65_536);
    const png16 = await encodeSamples({ width, height, layout: rgba16, data: data16 }, { format: 'png' });
    const meta16 = await sharp(png16).metadata();
    expect([meta16.channels, meta16.depth, meta16.hasAlpha]).toEqual([4, 'ushort', true]);
    expect([...(await decodeImage(png16)).samples.data]).toEqual([...data16]);

    const data8 = Uint8Array.from({ length: width * height }, (_, i) => i % 256);
    const pngGrey = await encodeSamples({ width, height, layout: grey, data: data8 }, { format: 'png' });
    expect((await sharp(pngGrey).metadata()).channels).toBe(1);
    expect([...(await decodeImage(pngGrey)).samples.data]).toEqual([...data8]);
  });

  it('keeps greyscale in JPEG, flattens alpha there, and says what each format cannot hold', async () => {
    const data8 = new Uint8Array(width * height).fill(120);
    const jpeg = await encodeSamples({ width, height, layout: grey, data: data8 }, { format: 'jpeg' });
    expect((await sharp(jpeg).metadata()).channels).toBe(1);
    const transparent = new Uint16Array(width * height * 4);
    const flat = await encodeSamples(
      { width, height, layout: rgba16, data: transparent },
      { format: 'jpeg' },
    );
    expect([...(await decodeImage(flat)).rgb.subarray(0, 3)]).toEqual([255, 255, 255]);
    expect(formatLosses(rgba16, 'png')).toEqual([]);
    expect(formatLosses(rgba16, 'jpeg')).toEqual([
      'jpeg has no alpha: transparency flattened onto white',
      'jpeg holds 8 bits per sample: 16-bit samples rounded to 8 bits',
    ]);
    expect(formatLosses(grey, 'webp')).toEqual(['webp has no greyscale mode: written as RGB (grey values)']);
  });
});
