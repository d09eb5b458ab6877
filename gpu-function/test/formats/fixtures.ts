/** Builders for sample-folder fixtures: temporary folders, small PNGs and masks. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach } from 'vitest';
import { SampleFormatError } from '../../src/formats/errors.ts';
import type { EncodedImage } from '../../src/formats/sample-files.ts';
import type { BinaryMask } from '../../src/image/binary-mask.ts';

const folders: string[] = [];

/** A fresh temporary folder, removed after the current test. */
export async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'dragflow-formats-'));
  folders.push(folder);
  return folder;
}

afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** An RGB gradient PNG, so that every pixel differs and a wrong decode shows. */
export async function gradientPng(width: number, height: number): Promise<EncodedImage> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 7) % 256;
      pixels[i + 1] = (y * 11) % 256;
      pixels[i + 2] = (x + y) % 256;
    }
  }
  const bytes = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return { bytes: new Uint8Array(bytes), width, height };
}

/** A mask with 1 inside the given rectangles [x0, y0, x1, y1) and 0 elsewhere. */
export function rectMask(
  width: number,
  height: number,
  rects: [number, number, number, number][],
): BinaryMask {
  const data = new Uint8Array(width * height);
  for (const [x0, y0, x1, y1] of rects) {
    for (let y = y0; y < y1; y++) data.fill(1, y * width + x0, y * width + x1);
  }
  return { width, height, data };
}

/** Encodes raw grey pixels (any values) as a PNG, for masks that break the rules. */
export async function greyPng(width: number, height: number, values: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp(Buffer.from(values), { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer(),
  );
}

/** The SampleFormatError a reader rejects with; fails the test if it resolves or throws anything else. */
export async function expectSampleError(reading: Promise<unknown>): Promise<SampleFormatError> {
  const error = await reading.then(
    () => new Error('expected the reader to fail'),
    (caught: unknown) => caught,
  );
  if (!(error instanceof SampleFormatError))
    throw new Error(`expected a SampleFormatError, got ${String(error)}`);
  return error;
}
