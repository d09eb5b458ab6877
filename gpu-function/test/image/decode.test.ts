import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropRgb, decodeImage, workingSize } from '../../src/image/decode.ts';
import type { InputError } from '../../src/image/input-error.ts';

/** Raw RGB where the left half is red and the right half blue. */
function halves(width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgb.set(x < width / 2 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
  }
  return rgb;
}

function pixel(image: { width: number; rgb: Uint8Array }, x: number, y: number): number[] {
  return [...image.rgb.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3)];
}

async function codeOf(input: Uint8Array): Promise<[string, string]> {
  try {
    await decodeImage(input);
  } catch (error) {
    return [(error as InputError).code, (error as InputError).message];
  }
  throw new Error('expected a rejection');
}

describe('decodeImage', () => {
  it('turns an EXIF-rotated JPEG upright (orientation 6: 90 degrees clockwise)', async () => {
    const jpeg = await sharp(halves(128, 64), { raw: { width: 128, height: 64, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const image = await decodeImage(jpeg);
    expect([image.width, image.height]).toEqual([64, 128]);
    // Turning clockwise puts the stored left (red) half on top.
    const [r1, , b1] = pixel(image, 32, 16);
    const [r2, , b2] = pixel(image, 32, 112);
    expect(r1).toBeGreaterThan(240);
    expect(b1).toBeLessThan(15);
    expect(r2).toBeLessThan(15);
    expect(b2).toBeGreaterThan(240);
  });

  it('flattens alpha onto white and keeps exact PNG bytes', async () => {
    const rgba = Buffer.alloc(80 * 70 * 4);
    for (let p = 0; p < 80 * 70; p++) {
      const x = p % 80;
      rgba.set(x < 40 ? [0, 0, 0, 0] : x < 60 ? [0, 200, 0, 255] : [100, 0, 0, 128], p * 4);
    }
    const png = await sharp(rgba, { raw: { width: 80, height: 70, channels: 4 } })
      .png()
      .toBuffer();
    const image = await decodeImage(png);
    expect([image.width, image.height, image.rgb.length]).toEqual([80, 70, 80 * 70 * 3]);
    expect(pixel(image, 10, 5)).toEqual([255, 255, 255]);
    expect(pixel(image, 50, 69)).toEqual([0, 200, 0]);
    // Half-transparent dark red over white: 100 * a + 255 * (1 - a), a = 128/255.
    const [r, g] = pixel(image, 70, 0);
    expect(r).toBeCloseTo(100 * (128 / 255) + 255 * (127 / 255), -0.5);
    expect(g).toBeCloseTo(255 * (127 / 255), -0.5);
  });

  it('reduces a 16-bit RGBA PNG to 8-bit sRGB, flattened on white', async () => {
    const png = await sharp({
      create: { width: 64, height: 64, channels: 4, background: { r: 200, g: 100, b: 30, alpha: 0.5 } },
    })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const image = await decodeImage(png);
    expect(image.rgb.length).toBe(64 * 64 * 3);
    // 0.5 * colour + 0.5 * 255.
    expect(pixel(image, 7, 7)).toEqual([227, 177, 142]);
  });

  it('converts colour from an embedded ICC profile to sRGB', async () => {
    const srgb = Buffer.alloc(64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) srgb.set([200, 60, 60], p * 3);
    // Stored as Display P3 numbers (185, 71, 65) with the P3 profile attached.
    const png = await sharp(srgb, { raw: { width: 64, height: 64, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const stored = [...(await sharp(png, { ignoreIcc: true }).raw().toBuffer()).subarray(0, 3)];
    const decoded = pixel(await decodeImage(png), 0, 0);
    expect(Math.abs(stored[0]! - 200)).toBeGreaterThan(10);
    decoded.forEach((value, c) => {
      expect(Math.abs(value - [200, 60, 60][c]!)).toBeLessThanOrEqual(2);
    });
  });

  it('rejects unreadable, too small and too large images with contract codes', async () => {
    expect((await codeOf(Uint8Array.of(1, 2, 3, 4)))[0]).toBe('image_unreadable');
    const small = await sharp({ create: { width: 63, height: 100, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect(await codeOf(small)).toEqual([
      'image_too_small',
      'image: is 63x100; each side must be at least 64',
    ]);
    // A 64x64 PNG whose header claims 3000x3000: refused from the header, before decoding.
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    png.writeUInt32BE(3000, 16);
    png.writeUInt32BE(3000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    expect(await codeOf(png)).toEqual([
      'image_too_large',
      'image: is 3000x3000; each side must be at most 2048',
    ]);
    const wide = await sharp({ create: { width: 2048, height: 1040, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect((await codeOf(wide))[1]).toBe('image: is 2048x1040 = 2129920 pixels; the limit is 2097152');
  });
});

describe('working image', () => {
  it('floors sides to a multiple of 16 and crops the top-left part', () => {
    expect(workingSize({ width: 513, height: 767 })).toEqual({ width: 512, height: 752 });
    expect(workingSize({ width: 64, height: 1024 })).toEqual({ width: 64, height: 1024 });
    const rgb = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i);
    expect([...cropRgb(rgb, { width: 3, height: 2 }, { width: 2, height: 1 })]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => cropRgb(rgb, { width: 3, height: 2 }, { width: 4, height: 1 })).toThrow(RangeError);
  });
});
