/**
 * Keeping the background: latent blending during optimisation and sampling (method doc), and the
 * final pixel composite that goes beyond the paper.
 */

import type { BinaryMask } from '../image/binary-mask.ts';
import { channelsOf, type ImageSamples, luma, maxSample } from '../image/pixel-layout.ts';
import { distanceToSites } from './distance-transform.ts';

/**
 * Width of the seam, in image pixels, over which the final composite fades from the original
 * (outside B) to the edited pixels. 8 px is one latent cell: narrow enough to leave the edit
 * alone, wide enough to hide the VAE's small colour drift at the boundary of B.
 */
export const FEATHER_WIDTH_PX = 8;

/** z <- m z + (1 - m) z_bg, element-wise with a 0/1 mask already laid out like z. */
export function blendLatent(
  z: Float32Array,
  background: Float32Array,
  keep: Uint8Array,
  out: Float32Array = new Float32Array(z.length),
): Float32Array {
  if (z.length !== background.length || z.length !== keep.length || z.length !== out.length) {
    throw new RangeError(
      `blend sizes differ: ${z.length}, ${background.length}, ${keep.length}, ${out.length}`,
    );
  }
  for (let i = 0; i < z.length; i++) out[i] = keep[i] ? z[i]! : background[i]!;
  return out;
}

/**
 * B at latent resolution laid out like an unpacked latent [channels, H/8, W/8].
 */
export function unpackedLatentMask(latentMask: BinaryMask, channels: number): Uint8Array {
  const plane = latentMask.data.length;
  const out = new Uint8Array(channels * plane);
  for (let c = 0; c < channels; c++) out.set(latentMask.data, c * plane);
  return out;
}

/**
 * B at latent resolution laid out like a packed FLUX latent [(H/16)(W/16), channels * 4]: token
 * (i, j) holds latent pixels (2i + ph, 2j + pw) at feature index c * 4 + ph * 2 + pw, the
 * "(h w) (c ph pw)" packing.
 */
export function packedLatentMask(latentMask: BinaryMask, channels: number): Uint8Array {
  const { width, height } = latentMask;
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw new RangeError(`latent mask ${width}x${height} must have even sides to pack 2x2`);
  }
  const tokensX = width / 2;
  const features = channels * 4;
  const out = new Uint8Array((height / 2) * tokensX * features);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = latentMask.data[y * width + x]!;
      const token = (y >> 1) * tokensX + (x >> 1);
      const within = (y & 1) * 2 + (x & 1);
      for (let c = 0; c < channels; c++) out[token * features + c * 4 + within] = value;
    }
  }
  return out;
}

/**
 * Per-pixel weight of the edited image: 0 outside B (the original pixel is kept exactly), rising
 * linearly with the distance d from the nearest pixel outside B as d / FEATHER_WIDTH_PX, 1 from
 * that distance on. All 1 when B covers the whole image.
 */
export function featherWeights(mask: BinaryMask, featherWidth: number = FEATHER_WIDTH_PX): Float32Array {
  const distance = distanceToSites(mask, 0);
  const weights = new Float32Array(distance.length);
  for (let i = 0; i < weights.length; i++) weights[i] = Math.min(1, distance[i]! / featherWidth);
  return weights;
}

/** Where the working crop lies in the full image (pipeline/work-plan.ts). */
export interface CropBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The output image: the original samples (full size, in the input's own layout) with the edited
 * RGB (crop-sized, 8-bit) blended in by featherWeights of B (crop-sized, at `crop`). Outside B,
 * and everywhere outside the crop, the original samples are kept exactly. Inside B the model's
 * RGB becomes the layout's samples: grey by Rec. 601 luma, 16-bit by x 257, and opaque alpha (the
 * model edits colour, not transparency).
 */
export function compositeBackground(
  original: ImageSamples,
  edited: Uint8Array,
  mask: BinaryMask,
  crop: CropBox = { x: 0, y: 0, width: mask.width, height: mask.height },
  featherWidth: number = FEATHER_WIDTH_PX,
): ImageSamples {
  const { width, height } = mask;
  const fits =
    crop.x >= 0 && crop.y >= 0 && crop.x + width <= original.width && crop.y + height <= original.height;
  if (edited.length !== width * height * 3 || width !== crop.width || height !== crop.height || !fits) {
    throw new RangeError(
      `composite: edit of ${edited.length} bytes and B of ${width}x${height} at (${crop.x}, ${crop.y}) do not fit a ${original.width}x${original.height} original`,
    );
  }
  const { layout } = original;
  const channels = channelsOf(layout);
  const scale = maxSample(layout) / 255;
  const colour = layout.grey ? 1 : 3;
  const weights = featherWeights(mask, featherWidth);
  const out = original.data.slice();
  const value = [0, 0, 0, maxSample(layout)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = weights[y * width + x]!;
      if (w === 0) continue;
      const e = (y * width + x) * 3;
      const [r, g, b] = [edited[e]!, edited[e + 1]!, edited[e + 2]!];
      if (layout.grey) value[0] = luma(r, g, b) * scale;
      else [value[0], value[1], value[2]] = [r * scale, g * scale, b * scale];
      if (layout.alpha) value[colour] = value[3]!;
      const o = ((crop.y + y) * original.width + crop.x + x) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = Math.round(w * value[c]! + (1 - w) * out[o + c]!);
    }
  }
  return { width: original.width, height: original.height, layout, data: out };
}
