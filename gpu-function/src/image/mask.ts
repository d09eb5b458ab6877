/**
 * User masks, from an image file or from polygons, at the decoded image's size (the pipeline
 * takes them to the working size, pipeline/working-image.ts, like the image).
 *
 * From a file (PNG expected; any format sharp reads is accepted), the contract's "white (> 50%)":
 * - if the file has an alpha channel that is not fully opaque, a pixel is inside when alpha >
 *   MASK_THRESHOLD (a stroke painted on a transparent layer, whatever its colour);
 * - otherwise when the mean of its colour channels is > MASK_THRESHOLD (for grey masks, the grey
 *   level).
 * The mask must have exactly the image's size (mask_size_mismatch otherwise, from the header,
 * before decoding), and must select at least one pixel (empty_region, saying the threshold and the
 * brightest value found, so a too-dark grey mask is explained).
 *
 * From polygons (contract: simple polygons whose union is the region), vertices in pixel-centre
 * coordinates (dragflow/geometry.ts pointFromRequest): a pixel is inside when its centre is inside
 * at least one polygon by the even-odd rule; an edge counts for a row when y0 <= y < y1
 * (half-open) and a pixel centre x when left <= x < right, so two polygons sharing an edge
 * neither overlap nor leave a gap.
 */
import type { Path } from '@dragflow/shared/errors';
import sharp, { type OutputInfo } from 'sharp';
import type { Size } from '../dragflow/geometry.ts';
import { createMask } from '../dragflow/region.ts';
import type { BinaryMask, Point } from './binary-mask.ts';
import { readHeader, unreadable } from './decode.ts';
import { InputError } from './input-error.ts';

/** A mask pixel is selected when its grey level (or alpha) is above this, of 255. */
export const MASK_THRESHOLD = 127;

export async function decodeMask(input: Uint8Array, image: Size, path: Path): Promise<BinaryMask> {
  const { width, height } = (await readHeader(input, path)).autoOrient;
  if (width !== image.width || height !== image.height) {
    throw new InputError(
      'mask_size_mismatch',
      path,
      `is ${width}x${height} but the image is ${image.width}x${image.height}; they must match`,
    );
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, { limitInputPixels: image.width * image.height, autoOrient: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw unreadable(path, error);
  }
  const { data, info } = decoded;
  const channels = info.channels;
  const colourChannels = channels === 2 || channels === 4 ? channels - 1 : channels;
  const pixels = info.width * info.height;
  let useAlpha = false;
  for (let p = 0; colourChannels < channels && p < pixels && !useAlpha; p++) {
    useAlpha = data[p * channels + colourChannels]! < 255;
  }
  const mask = createMask(info.width, info.height);
  let brightest = 0;
  let selected = 0;
  for (let p = 0; p < pixels; p++) {
    const base = p * channels;
    let level: number;
    if (useAlpha) {
      level = data[base + colourChannels]!;
    } else {
      let sum = 0;
      for (let c = 0; c < colourChannels; c++) sum += data[base + c]!;
      level = sum / colourChannels;
    }
    mask.data[p] = level > MASK_THRESHOLD ? 1 : 0;
    selected += mask.data[p]!;
    brightest = Math.max(brightest, level);
  }
  if (selected === 0) {
    const what = useAlpha ? 'alpha' : 'grey level (mean of R, G, B)';
    throw new InputError(
      'empty_region',
      path,
      `selects no pixels: a pixel is selected when its ${what} is above ${MASK_THRESHOLD} of 255, and the highest here is ${Math.round(brightest)}`,
    );
  }
  return mask;
}

export function polygonMask(polygons: readonly (readonly Point[])[], size: Size): BinaryMask {
  const mask = createMask(size.width, size.height);
  const crossings: number[] = [];
  for (const ring of polygons) {
    for (let y = 0; y < size.height; y++) {
      crossings.length = 0;
      for (let i = 0; i < ring.length; i++) {
        const a = ring[i]!;
        const b = ring[(i + 1) % ring.length]!;
        if ((a.y <= y && y < b.y) || (b.y <= y && y < a.y)) {
          crossings.push(a.x + ((y - a.y) * (b.x - a.x)) / (b.y - a.y));
        }
      }
      crossings.sort((p, q) => p - q);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        const from = Math.max(0, Math.ceil(crossings[k]!));
        const to = Math.min(size.width, Math.ceil(crossings[k + 1]!));
        for (let x = from; x < to; x++) mask.data[y * size.width + x] = 1;
      }
    }
  }
  return mask;
}
