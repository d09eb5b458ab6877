/** Reading and writing the files of a sample folder: size limits, PNG images and PNG masks. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import type { BinaryMask } from '../image/binary-mask.ts';
import { SampleFormatError } from './errors.ts';

export const SAMPLE_FILE_LIMITS = {
  /** Largest image or mask PNG accepted, in bytes. */
  maxPngBytes: 32 * 1024 * 1024,
  /** Largest JSON file accepted, in bytes (instructions are a few KiB). */
  maxJsonBytes: 1024 * 1024,
  /** Longest image side accepted, in pixels (the benchmarks' images are 288 to 768 px). */
  maxImageSide: 4096,
} as const;

/** An encoded image kept as its file bytes, with its decoded size. */
export interface EncodedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** Reads `dir/name`, refusing files over `maxBytes` (sample_unreadable when missing or too big). */
export async function readSampleFile(dir: string, name: string, maxBytes: number): Promise<Uint8Array> {
  const file = join(dir, name);
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new SampleFormatError('sample_unreadable', 'is not a regular file', { file });
    size = info.size;
  } catch (cause) {
    if (cause instanceof SampleFormatError) throw cause;
    throw new SampleFormatError('sample_unreadable', `cannot read the file (${errnoOf(cause)})`, { file });
  }
  if (size > maxBytes) {
    throw new SampleFormatError('sample_unreadable', `file is ${size} bytes, over the limit of ${maxBytes}`, {
      file,
    });
  }
  return new Uint8Array(await readFile(file));
}

/** Checks that `bytes` is a whole, decodable PNG within the size limits and returns it with its size. */
export async function readPngImage(bytes: Uint8Array, file: string): Promise<EncodedImage> {
  const { info } = await decodePng(bytes, file);
  return { bytes, width: info.width, height: info.height };
}

/**
 * Decodes a black-and-white PNG (grey or RGB with equal channels, opaque) into a 0/1 mask.
 * Only 0 and 255 are accepted: the reference masks are exactly binary, and anything else
 * (anti-aliased edges, a photo by mistake) would be guessed at by a threshold.
 */
export async function readPngMask(bytes: Uint8Array, file: string): Promise<BinaryMask> {
  const { data, info } = await decodePng(bytes, file);
  const { width, height, channels } = info;
  const colourChannels = info.hasAlpha ? channels - 1 : channels;
  const mask = new Uint8Array(width * height);
  for (let pixel = 0; pixel < mask.length; pixel++) {
    const base = pixel * channels;
    const value = data[base] as number;
    let binary = value === 0 || value === 255;
    for (let c = 1; c < colourChannels; c++) binary &&= data[base + c] === value;
    if (info.hasAlpha) binary &&= data[base + channels - 1] === 255;
    if (!binary) {
      const x = pixel % width;
      const y = Math.floor(pixel / width);
      throw new SampleFormatError(
        'sample_invalid',
        `pixel (${x}, ${y}) is not pure black or white (opaque 0 or 255 in every channel)`,
        { file },
      );
    }
    mask[pixel] = value === 255 ? 1 : 0;
  }
  return { width, height, data: mask };
}

/** Encodes a 0/1 mask as an 8-bit grey PNG with 0 and 255, as the reference masks are stored. */
export async function encodePngMask(mask: BinaryMask): Promise<Uint8Array> {
  const grey = Buffer.alloc(mask.data.length);
  for (let i = 0; i < grey.length; i++) grey[i] = mask.data[i] === 0 ? 0 : 255;
  // sharp writes raw single-channel input as sRGB unless told the colourspace is b-w.
  const png = await sharp(grey, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  return new Uint8Array(png);
}

/** Decodes a PNG to raw 8-bit pixels after checking its header against the limits. */
async function decodePng(bytes: Uint8Array, file: string): Promise<{ data: Buffer; info: OutputInfo }> {
  const fail = (reason: string) => new SampleFormatError('sample_invalid', reason, { file });
  const metadata = await sharp(bytes)
    .metadata()
    .catch((cause: Error) => {
      throw fail(`is not a decodable image (${cause.message})`);
    });
  if (metadata.format !== 'png') throw fail(`is ${metadata.format ?? 'unknown'}, expected PNG`);
  const { width, height } = metadata;
  const limit = SAMPLE_FILE_LIMITS.maxImageSide;
  if (width > limit || height > limit)
    throw fail(`image is ${width}x${height}, over the limit of ${limit} px a side`);
  return sharp(bytes, { limitInputPixels: maxPixels() })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true })
    .catch((cause: Error) => {
      throw fail(`cannot decode the PNG (${cause.message})`);
    });
}

function maxPixels(): number {
  return SAMPLE_FILE_LIMITS.maxImageSide * SAMPLE_FILE_LIMITS.maxImageSide;
}

function errnoOf(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : (code ?? String(cause));
}
