/**
 * Image decoding for an edit: any format sharp reads, turned upright by its EXIF orientation,
 * alpha flattened onto white (transparent areas read as a plain white backdrop, the usual
 * convention for cut-outs), converted to 8-bit sRGB (embedded ICC profiles applied).
 *
 * Size rules, with the contract's limits (shared/src/limits.ts; defaults: sides 64..2048 px,
 * at most 2048 x 1024 pixels), checked on the header before any pixel is decoded by the
 * contract's own check (imageSizeError), so a size is refused here exactly as in a request.
 * The model works on the WORKING image: the top-left crop whose sides are floored to a multiple
 * of 16 (VAE /8 and 2x2 packing). Cropping rather than resizing keeps every pixel and every
 * request coordinate exactly as given; the few dropped columns and rows (at most 15) are
 * background the final composite (dragflow/composite.ts) puts back, so the output has the
 * input's size.
 */
import { imageSizeError } from '@dragflow/shared/edit-request';
import type { Path } from '@dragflow/shared/errors';
import { type Limits, resolveLimits } from '@dragflow/shared/limits';
import { METHOD } from '@dragflow/shared/presets';
import sharp, { type Metadata } from 'sharp';
import type { Size } from '../dragflow/geometry.ts';
import { InputError } from './input-error.ts';

export interface DecodedImage extends Size {
  /** Interleaved 8-bit sRGB, 3 bytes per pixel, row-major, upright. */
  rgb: Uint8Array;
}

/** Sides floored to the multiple FLUX needs. */
export function workingSize(size: Size): Size {
  const floor = (side: number) => Math.floor(side / METHOD.imageSideMultiple) * METHOD.imageSideMultiple;
  return { width: floor(size.width), height: floor(size.height) };
}

/** The top-left `to` part of interleaved RGB. */
export function cropRgb(rgb: Uint8Array, from: Size, to: Size): Uint8Array {
  if (to.width > from.width || to.height > from.height || rgb.length !== from.width * from.height * 3) {
    throw new RangeError(
      `cannot crop ${rgb.length} bytes of ${from.width}x${from.height} RGB to ${to.width}x${to.height}`,
    );
  }
  const out = new Uint8Array(to.width * to.height * 3);
  for (let y = 0; y < to.height; y++) {
    out.set(rgb.subarray(y * from.width * 3, (y * from.width + to.width) * 3), y * to.width * 3);
  }
  return out;
}

export async function decodeImage(
  input: Uint8Array,
  limits: Partial<Limits> = {},
  path: Path = ['image'],
): Promise<DecodedImage> {
  const { maxImagePixels } = resolveLimits(limits);
  let metadata: Metadata;
  try {
    metadata = await sharp(input).metadata();
  } catch (error) {
    throw new InputError(
      'image_unreadable',
      path,
      `cannot be read as an image (${(error as Error).message})`,
    );
  }
  const { width, height } = metadata.autoOrient;
  const sizeError = imageSizeError({ width, height }, limits, path);
  if (sizeError) throw new InputError(sizeError);
  try {
    const { data, info } = await sharp(input, { limitInputPixels: maxImagePixels, autoOrient: true })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) {
      throw new Error(
        `decoder returned ${info.width}x${info.height}x${info.channels}, header said ${width}x${height}x3`,
      );
    }
    return { width, height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (error) {
    throw new InputError('image_unreadable', path, `cannot be decoded (${(error as Error).message})`);
  }
}
