/**
 * Image decoding for an edit: any format sharp reads, turned upright by its EXIF orientation.
 * Two views of the same pixels:
 * - `rgb`, what the model sees: alpha flattened onto white (transparent areas read as a plain
 *   white backdrop, the usual convention for cut-outs), converted to 8-bit sRGB (embedded ICC
 *   profiles applied);
 * - `samples`, what the output keeps: the same pixels in the input's own layout (greyscale kept
 *   grey, alpha kept, 16 bits kept; image/pixel-layout.ts), so pixels outside B are written back
 *   exactly. For an 8-bit RGB input without alpha both views are the same buffer.
 *
 * Size rules, with the contract's limits (shared/src/limits.ts; defaults: sides 64..2048 px,
 * at most 2048 x 1024 pixels), checked on the header before any pixel is decoded by the
 * contract's own check (imageSizeError), so a size is refused here exactly as in a request, and a
 * huge image is `image_too_large`, never a decoder failure. Decoder failures are reported in
 * plain words (`image_unreadable`), without the decoder library's own messages.
 */
import { imageSizeError } from '@dragflow/shared/edit-request';
import type { Path } from '@dragflow/shared/errors';
import { type Limits, resolveLimits } from '@dragflow/shared/limits';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { Size } from '../dragflow/geometry.ts';
import { InputError } from './input-error.ts';
import {
  channelsOf,
  colourSpaceOf,
  type ImageSamples,
  isRgb8,
  layoutFromMetadata,
  RGB8,
} from './pixel-layout.ts';

export interface DecodedImage extends Size {
  /** Interleaved 8-bit sRGB, 3 bytes per pixel, row-major, upright. */
  rgb: Uint8Array;
  /** The same pixels in the input's layout (`rgb` itself for 8-bit RGB without alpha). */
  samples: ImageSamples;
}

/** Why a decoder failed, in words a user can act on (the library's text stays out). */
const UNREADABLE =
  'cannot be decoded: the file is truncated or its image data is corrupt (not a complete PNG, JPEG or WebP)';

/** An image_unreadable error in plain words; the decoder's own error is kept as `cause` for debugging. */
export function unreadable(path: Path, cause: unknown): InputError {
  const error = new InputError('image_unreadable', path, UNREADABLE);
  error.cause = cause;
  return error;
}

/** The header only: size and layout. No pixel limit here, so any declared size can be reported. */
export async function readHeader(input: Uint8Array, path: Path): Promise<Metadata> {
  try {
    return await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    const notImage = new InputError('image_unreadable', path, 'is not a PNG, JPEG or WebP image');
    notImage.cause = error;
    throw notImage;
  }
}

export async function decodeImage(
  input: Uint8Array,
  limits: Partial<Limits> = {},
  path: Path = ['image'],
): Promise<DecodedImage> {
  const { maxImagePixels } = resolveLimits(limits);
  const metadata = await readHeader(input, path);
  const { width, height } = metadata.autoOrient;
  const sizeError = imageSizeError({ width, height }, limits, path);
  if (sizeError) throw new InputError(sizeError);
  const layout = layoutFromMetadata(metadata);
  const open = () => sharp(input, { limitInputPixels: maxImagePixels, autoOrient: true });
  const check = (info: OutputInfo, channels: number) => {
    if (info.channels !== channels || info.width !== width || info.height !== height) {
      throw new Error(
        `decoder returned ${info.width}x${info.height}x${info.channels}, header said ${width}x${height}x${channels}`,
      );
    }
  };
  try {
    const { data, info } = await open()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    check(info, 3);
    const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (isRgb8(layout)) return { width, height, rgb, samples: { width, height, layout: RGB8, data: rgb } };
    const channels = channelsOf(layout);
    const raw = await open()
      .toColourspace(colourSpaceOf(layout))
      .raw({ depth: layout.depth === 16 ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    check(raw.info, channels);
    const bytes = raw.data;
    const samples =
      layout.depth === 16
        ? new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    return { width, height, rgb, samples: { width, height, layout, data: samples } };
  } catch (error) {
    throw unreadable(path, error);
  }
}
