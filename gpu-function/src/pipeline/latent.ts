/**
 * Latent layouts. The autoencoder works on the UNPACKED latent [C, H/8, W/8]; the transformer on the
 * PACKED one [(H/16)(W/16), 4C], the "(c h ph w pw) -> (h w) (c ph pw)" packing with ph = pw = 2,
 * and on images in [-1, 1] planes [3, H, W]. Batch 1 throughout.
 */
import type { Size } from '../dragflow/geometry.ts';

/** Calls `visit(unpackedIndex, packedIndex)` for every latent value. */
function forEachLatentValue(
  channels: number,
  size: Size,
  visit: (unpacked: number, packed: number) => void,
): void {
  const { width, height } = size;
  const tokensX = width / 2;
  const features = channels * 4;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const token = (y >> 1) * tokensX + (x >> 1);
        visit((c * height + y) * width + x, token * features + c * 4 + (y & 1) * 2 + (x & 1));
      }
    }
  }
}

/** [C, H, W] -> [(H/2)(W/2), 4C]. */
export function packLatent(unpacked: Float32Array, channels: number, size: Size): Float32Array {
  const packed = new Float32Array(unpacked.length);
  forEachLatentValue(channels, size, (u, p) => {
    packed[p] = unpacked[u]!;
  });
  return packed;
}

/** [(H/2)(W/2), 4C] -> [C, H, W]. */
export function unpackLatent(packed: Float32Array, channels: number, size: Size): Float32Array {
  const unpacked = new Float32Array(packed.length);
  forEachLatentValue(channels, size, (u, p) => {
    unpacked[u] = packed[p]!;
  });
  return unpacked;
}

/** Interleaved 8-bit RGB -> planes [3, H, W] in [-1, 1]. */
export function rgbToPlanes(rgb: Uint8Array, size: Size): Float32Array {
  const pixels = size.width * size.height;
  const planes = new Float32Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) planes[c * pixels + p] = (rgb[p * 3 + c]! / 255) * 2 - 1;
  }
  return planes;
}

/** Planes [3, H, W] in [-1, 1] -> interleaved 8-bit RGB, clamped and rounded. */
export function planesToRgb(planes: Float32Array, size: Size): Uint8Array {
  const pixels = size.width * size.height;
  const rgb = new Uint8Array(3 * pixels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const value = ((planes[c * pixels + p]! + 1) / 2) * 255;
      rgb[p * 3 + c] = Math.min(255, Math.max(0, Math.round(value)));
    }
  }
  return rgb;
}
