/** Encoding a working image (interleaved 8-bit sRGB) for the response. */
import sharp from 'sharp';

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
  if (rgb.length !== width * height * 3) {
    throw new RangeError(
      `encode: ${width}x${height} RGB needs ${width * height * 3} bytes, got ${rgb.length}`,
    );
  }
  const quality = options.quality ?? DEFAULT_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`encode: quality must be an integer in [1, 100], got ${quality}`);
  }
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  switch (options.format) {
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ quality }).toBuffer();
    case 'jpeg':
      return image.jpeg({ quality }).toBuffer();
  }
}
