/**
 * Image decoding for an edit: any format sharp reads, turned upright by its EXIF orientation,
 * alpha flattened onto white (transparent areas read as a plain white backdrop, the common
 * convention for cut-outs), converted to 8-bit sRGB (embedded ICC profiles applied).
 *
 * Size rules:
 * - inputs above MAX_INPUT_PIXELS are refused (image_too_large) before any pixel is decoded;
 * - the working size fits inside MAX_SIDE x MAX_SIDE, downscaling (aspect kept) when larger;
 * - then each side is floored to a multiple of 16 (the FLUX patch: 8x VAE, 2x2 packing) by
 *   RESIZING, not cropping: all content is kept and user coordinates map by a plain scale, at the
 *   cost of resampling by at most 15/16 per axis. Both steps are one Lanczos resize.
 * - a working side below MIN_SIDE is refused (image_too_small).
 * Background preservation is exact relative to this working image, which is also the output size.
 */
import sharp, { type Metadata } from 'sharp';
import { InputError } from './input-error.ts';

/** Longest working side: 1024 x 1024 is 4096 FLUX image tokens, the top of the schedule's shift range. */
export const MAX_SIDE = 1024;
/** Shortest working side: 64 px is an 8x8 latent, 4x4 tokens; anything smaller cannot hold a drag. */
export const MIN_SIDE = 64;
/** Decoding guard against decompression bombs: 40 MP covers any phone or camera photo. */
export const MAX_INPUT_PIXELS = 40_000_000;
/** Sides of the working image are multiples of this. */
export const SIDE_MULTIPLE = 16;

export interface DecodedImage {
  width: number;
  height: number;
  /** Interleaved 8-bit sRGB, 3 bytes per pixel, row-major. */
  rgb: Uint8Array;
  /**
   * Upright size before resizing. Points given in this frame map to the working image with
   * dragflow/geometry.ts rescalePoint; masks with mask.ts.
   */
  sourceWidth: number;
  sourceHeight: number;
}

/** The working size for an upright source size (see the size rules above). */
export function workingSize(sourceWidth: number, sourceHeight: number): { width: number; height: number } {
  const fit = Math.min(1, MAX_SIDE / Math.max(sourceWidth, sourceHeight));
  const floorTo = (side: number) => Math.floor(side / SIDE_MULTIPLE) * SIDE_MULTIPLE;
  return { width: floorTo(Math.round(sourceWidth * fit)), height: floorTo(Math.round(sourceHeight * fit)) };
}

export async function decodeImage(input: Uint8Array): Promise<DecodedImage> {
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new InputError('image_unreadable', `image: cannot read the header (${(error as Error).message})`);
  }
  const pixels = metadata.width * metadata.height;
  if (pixels > MAX_INPUT_PIXELS) {
    throw new InputError(
      'image_too_large',
      `image: ${metadata.width}x${metadata.height} is ${pixels} pixels, above the limit of ${MAX_INPUT_PIXELS}`,
    );
  }
  const sourceWidth = metadata.autoOrient.width;
  const sourceHeight = metadata.autoOrient.height;
  const { width, height } = workingSize(sourceWidth, sourceHeight);
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new InputError(
      'image_too_small',
      `image: ${sourceWidth}x${sourceHeight} gives a ${width}x${height} working size; each side must reach ${MIN_SIDE} px`,
    );
  }
  try {
    const { data, info } = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, autoOrient: true })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) {
      throw new Error(`decoder returned ${info.width}x${info.height}x${info.channels}`);
    }
    return {
      width,
      height,
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
      sourceWidth,
      sourceHeight,
    };
  } catch (error) {
    throw new InputError('image_unreadable', `image: cannot decode the pixels (${(error as Error).message})`);
  }
}
