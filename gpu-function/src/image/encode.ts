/**
 * Encoding for the response: interleaved 8-bit sRGB (previews, masks), or an image in its own pixel
 * layout (image/pixel-layout.ts) so the output keeps the input's greyscale, alpha and bit depth as
 * far as the format can hold them (formatLosses says what it cannot).
 */
import sharp from 'sharp';
import { channelsOf, colourSpaceOf, type ImageSamples, isRgb8, RGB8 } from './pixel-layout.ts';

export type OutputFormat = 'png' | 'webp' | 'jpeg';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'webp', 'jpeg'];

/** Quality for the lossy formats when none is asked for. */
export const DEFAULT_QUALITY = 92;

export interface EncodeOptions {
  format: OutputFormat;
  /** 1..100, webp and jpeg only. */
  quality?: number;
}

export async function encodeImage(
  rgb: Uint8Array,
  width: number,
  height: number,
  options: EncodeOptions,
): Promise<Buffer> {
  return encodeSamples({ width, height, layout: RGB8, data: rgb }, options);
}

/** 16-bit samples rounded to 8 bits (v / 257, the exact inverse of 8 -> 16 bit widening). */
function toEightBit(data: Uint16Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(data[i]! / 257);
  return out;
}

export async function encodeSamples(samples: ImageSamples, options: EncodeOptions): Promise<Buffer> {
  const { width, height, layout, data } = samples;
  const channels = channelsOf(layout);
  if (data.length !== width * height * channels || data instanceof Uint16Array !== (layout.depth === 16)) {
    throw new RangeError(
      `encode: ${width}x${height}x${channels} ${layout.depth}-bit needs ${width * height * channels} samples, got ${data.length} ${data.constructor.name}`,
    );
  }
  const quality = options.quality ?? DEFAULT_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`encode: quality must be an integer in [1, 100], got ${quality}`);
  }
  const raw = { width, height, channels };
  if (options.format === 'png') {
    // 8-bit RGB goes through sharp's defaults unchanged (the demo's bytes stay stable).
    const image = sharp(data, { raw });
    return (isRgb8(layout) ? image : image.toColourspace(colourSpaceOf(layout))).png().toBuffer();
  }
  const eight = { ...layout, depth: 8 as const };
  const image = sharp(data instanceof Uint16Array ? toEightBit(data) : data, { raw });
  if (options.format === 'webp') {
    // WebP has no greyscale mode: grey becomes RGB with equal channels.
    return image.toColourspace('srgb').webp({ quality }).toBuffer();
  }
  const flat = layout.alpha ? image.flatten({ background: { r: 255, g: 255, b: 255 } }) : image;
  return flat
    .toColourspace(colourSpaceOf({ ...eight, alpha: false }))
    .jpeg({ quality })
    .toBuffer();
}
