/**
 * User masks at the working image size, from an image file or from polygons.
 *
 * From a file (PNG expected; any format sharp reads is accepted):
 * - if the file has an alpha channel that is not fully opaque, a pixel is inside when alpha > 127
 *   (a painted stroke on a transparent layer, whatever its colour);
 * - otherwise a pixel is inside when any colour channel > 127 (white-on-black masks, grey levels).
 * The mask must have the upright source size of the image or its working size; a source-sized
 * mask is resized to the working size by the method's rule (bilinear, > 0.5).
 *
 * From polygons: one even-odd fill over all rings together (like SVG fill-rule="evenodd", so a
 * ring inside another cuts a hole), tested at pixel centres; an edge counts for a scanline when
 * y0 <= y < y1 (half-open), so shared edges are never filled twice. Vertices are in working-image
 * pixels (pixel (i, j) centred at x = j, y = i).
 */
import sharp, { type OutputInfo } from 'sharp';
import type { Point, Size } from '../dragflow/geometry.ts';
import { type BinaryMask, createMask, resizeMask } from '../dragflow/region.ts';
import type { DecodedImage } from './decode.ts';
import { InputError } from './input-error.ts';

/** Vertices over all rings of one polygon mask. */
export const MAX_POLYGON_VERTICES = 10_000;

export async function decodeMask(
  input: Uint8Array,
  image: Pick<DecodedImage, 'width' | 'height' | 'sourceWidth' | 'sourceHeight'>,
  what = 'mask',
): Promise<BinaryMask> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, {
      limitInputPixels: 4 * image.sourceWidth * image.sourceHeight,
      autoOrient: true,
    })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new InputError('mask_unreadable', `${what}: cannot decode (${(error as Error).message})`);
  }
  const { data, info } = decoded;
  const sourceSized = info.width === image.sourceWidth && info.height === image.sourceHeight;
  const workingSized = info.width === image.width && info.height === image.height;
  if (!sourceSized && !workingSized) {
    throw new InputError(
      'mask_size_mismatch',
      `${what}: ${info.width}x${info.height} matches neither the image (${image.sourceWidth}x${image.sourceHeight}) ` +
        `nor its working size (${image.width}x${image.height})`,
    );
  }
  const channels = info.channels;
  const colourChannels = channels === 2 || channels === 4 ? channels - 1 : channels;
  const pixels = info.width * info.height;
  let useAlpha = false;
  if (colourChannels < channels) {
    for (let p = 0; p < pixels && !useAlpha; p++) useAlpha = data[p * channels + colourChannels]! < 255;
  }
  const mask = createMask(info.width, info.height);
  for (let p = 0; p < pixels; p++) {
    const base = p * channels;
    let inside = false;
    if (useAlpha) inside = data[base + colourChannels]! > 127;
    else for (let c = 0; c < colourChannels && !inside; c++) inside = data[base + c]! > 127;
    mask.data[p] = inside ? 1 : 0;
  }
  return resizeMask(mask, image.width, image.height);
}

export function polygonMask(rings: readonly (readonly Point[])[], size: Size, what = 'polygon'): BinaryMask {
  const vertexCount = rings.reduce((n, ring) => n + ring.length, 0);
  if (rings.length === 0 || vertexCount > MAX_POLYGON_VERTICES) {
    throw new InputError(
      'polygon_invalid',
      `${what}: needs 1 to ${MAX_POLYGON_VERTICES} vertices over at least one ring, got ${rings.length} rings, ${vertexCount} vertices`,
    );
  }
  rings.forEach((ring, r) => {
    if (ring.length < 3)
      throw new InputError('polygon_invalid', `${what}: ring ${r} has ${ring.length} vertices, needs 3`);
    ring.forEach((p, v) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
        throw new InputError('polygon_invalid', `${what}: ring ${r} vertex ${v} is not a finite point`);
      }
    });
  });
  const mask = createMask(size.width, size.height);
  const crossings: number[] = [];
  for (let y = 0; y < size.height; y++) {
    crossings.length = 0;
    for (const ring of rings) {
      for (let i = 0; i < ring.length; i++) {
        const a = ring[i]!;
        const b = ring[(i + 1) % ring.length]!;
        if ((a.y <= y && y < b.y) || (b.y <= y && y < a.y)) {
          crossings.push(a.x + ((y - a.y) * (b.x - a.x)) / (b.y - a.y));
        }
      }
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Pixel centres x with left <= x < right are inside.
      const from = Math.max(0, Math.ceil(crossings[k]!));
      const to = Math.min(size.width, Math.ceil(crossings[k + 1]!));
      for (let x = from; x < to; x++) mask.data[y * size.width + x] = 1;
    }
  }
  return mask;
}
