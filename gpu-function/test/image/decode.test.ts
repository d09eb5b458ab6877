import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import type { InputError } from '../../src/image/input-error.ts';
import { claimingSize } from './png-header.ts';

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
    expect(await codeOf(claimingSize(png, 3000, 3000))).toEqual([
      'image_too_large',
      'image: is 3000x3000; each side must be at most 2048',
    ]);
    const wide = await sharp({ create: { width: 2048, height: 1040, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect((await codeOf(wide))[1]).toBe('image: is 2048x1040 = 2129920 pixels; the limit is 2097152');
  });
});

describe("decoder failures in the contract's words", () => {
  it('refuses a 20000x20000 header as image_too_large, not as a decoder failure', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect(await codeOf(claimingSize(png, 20_000, 20_000))).toEqual([
      'image_too_large',
      'image: is 20000x20000; each side must be at most 2048',
    ]);
  });

  it("reports truncated PNG and JPEG data without the decoder library's messages", async () => {
    const noise = Uint8Array.from({ length: 200 * 200 * 3 }, (_, i) => (i * 2_654_435_761) >>> 24);
    const raw = { raw: { width: 200, height: 200, channels: 3 as const } };
    for (const encoded of [
      await sharp(noise, raw).png().toBuffer(),
      await sharp(noise, raw).jpeg().toBuffer(),
    ]) {
      const [code, message] = await codeOf(encoded.subarray(0, encoded.length / 2));
      expect(code).toBe('image_unreadable');
      expect(message).toBe(
        'image: cannot be decoded: the file is truncated or its image data is corrupt (not a complete PNG, JPEG or WebP)',
      );
      expect(message).not.toMatch(/vips|libpng|jpeg image/i);
    }
  });
});

describe("samples in the input's own layout", () => {
  it('keeps alpha, 16-bit samples and greyscale, and shares the buffer for plain 8-bit RGB', async () => {
    const rgba16 = Uint16Array.from({ length: 64 * 64 * 4 }, (_, i) => (i * 2_654_435_761) % 65_536);
    const png16 = await sharp(rgba16, { raw: { width: 64, height: 64, channels: 4 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const decoded16 = await decodeImage(png16);
    expect(decoded16.samples.layout).toEqual({ grey: false, alpha: true, depth: 16 });
    expect([...decoded16.samples.data]).toEqual([...rgba16]);

    const grey = Uint8Array.from({ length: 64 * 64 }, (_, i) => i % 251);
    const greyPng = await sharp(grey, { raw: { width: 64, height: 64, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const decodedGrey = await decodeImage(greyPng);
    expect(decodedGrey.samples.layout).toEqual({ grey: true, alpha: false, depth: 8 });
    expect([...decodedGrey.samples.data]).toEqual([...grey]);
    expect(pixel(decodedGrey, 5, 0)).toEqual([5, 5, 5]);

    const rgb = await decodeImage(
      await sharp(halves(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
        .png()
        .toBuffer(),
    );
    expect(rgb.samples.data).toBe(rgb.rgb);
  });
});
