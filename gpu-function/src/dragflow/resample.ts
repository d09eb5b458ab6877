/**
 * Bilinear resampling of [C, H, W] planes.
 *
 * Convention (the one every module here shares): pixel (i, j) has its centre at x = j, y = i, so
 * an image of width W spans x in [-0.5, W - 0.5]. Sampling at pixel-centre coordinates with
 * 'border' padding (coordinates clamped to [0, W-1] x [0, H-1]) equals torch grid_sample with
 * align_corners=False and padding_mode='border'; 'zeros' padding gives zero weight to taps outside
 * the image, like padding_mode='zeros'. Resizing maps output centres by
 * x_src = (x + 0.5) * W_in / W_out - 0.5, which is torch interpolate(mode='bilinear',
 * align_corners=False) without antialiasing.
 */

/** Channel-major planes: value of channel c at (y, x) is data[(c * height + y) * width + x]. */
export interface Planes {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

export type Padding = 'border' | 'zeros';

/** Maps an output pixel centre to the source coordinate it samples. */
export type SourceCoordinate = (x: number, y: number) => readonly [number, number];

export function createPlanes(channels: number, height: number, width: number): Planes {
  return { channels, height, width, data: new Float32Array(channels * height * width) };
}

/** Where resampled rows go: row y of channel c starts at data[rowStart(c, y)]. */
export interface RowTarget {
  data: Float32Array;
  rowStart: (channel: number, y: number) => number;
}

/**
 * Samples every channel of `source` at the coordinates `sourceOf` gives for each pixel of an
 * outHeight x outWidth grid. The four taps and weights are computed once per output pixel and
 * reused across channels (feature maps have thousands of channels).
 */
export function resample(
  source: Planes,
  outWidth: number,
  outHeight: number,
  sourceOf: SourceCoordinate,
  padding: Padding,
): Planes {
  const out = createPlanes(source.channels, outHeight, outWidth);
  const pixels = outWidth * outHeight;
  resampleInto(source, outWidth, outHeight, sourceOf, padding, {
    data: out.data,
    rowStart: (c, y) => c * pixels + y * outWidth,
  });
  return out;
}

/** resample, writing each output row where `target` says (e.g. into a box of a larger map). */
export function resampleInto(
  source: Planes,
  outWidth: number,
  outHeight: number,
  sourceOf: SourceCoordinate,
  padding: Padding,
  target: RowTarget,
): void {
  const { width, height, channels } = source;
  const pixels = outWidth * outHeight;
  const taps = new Int32Array(pixels * 4);
  const weights = new Float64Array(pixels * 4);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let [sx, sy] = sourceOf(x, y);
      if (padding === 'border') {
        sx = Math.min(Math.max(sx, 0), width - 1);
        sy = Math.min(Math.max(sy, 0), height - 1);
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const base = (y * outWidth + x) * 4;
      setTap(taps, weights, base, x0, y0, (1 - fx) * (1 - fy), width, height);
      setTap(taps, weights, base + 1, x0 + 1, y0, fx * (1 - fy), width, height);
      setTap(taps, weights, base + 2, x0, y0 + 1, (1 - fx) * fy, width, height);
      setTap(taps, weights, base + 3, x0 + 1, y0 + 1, fx * fy, width, height);
    }
  }
  const planeIn = width * height;
  const from = source.data;
  const to = target.data;
  for (let c = 0; c < channels; c++) {
    const inOffset = c * planeIn;
    for (let y = 0; y < outHeight; y++) {
      const row = target.rowStart(c, y);
      for (let x = 0; x < outWidth; x++) {
        const b = (y * outWidth + x) * 4;
        to[row + x] =
          weights[b]! * from[inOffset + taps[b]!]! +
          weights[b + 1]! * from[inOffset + taps[b + 1]!]! +
          weights[b + 2]! * from[inOffset + taps[b + 2]!]! +
          weights[b + 3]! * from[inOffset + taps[b + 3]!]!;
      }
    }
  }
}

/**
 * One bilinear tap. Taps outside the image get weight 0 (zeros padding); under border padding
 * only zero-weight taps can fall one past the edge. Either way the index points anywhere valid.
 */
function setTap(
  taps: Int32Array,
  weights: Float64Array,
  slot: number,
  x: number,
  y: number,
  weight: number,
  width: number,
  height: number,
): void {
  const inside = x >= 0 && x < width && y >= 0 && y < height;
  taps[slot] = inside ? y * width + x : 0;
  weights[slot] = inside ? weight : 0;
}

/** Bilinear resize with half-pixel centres (torch interpolate, align_corners=False). */
export function resizeBilinear(source: Planes, outWidth: number, outHeight: number): Planes {
  const scaleX = source.width / outWidth;
  const scaleY = source.height / outHeight;
  return resample(
    source,
    outWidth,
    outHeight,
    (x, y) => [(x + 0.5) * scaleX - 0.5, (y + 0.5) * scaleY - 0.5],
    'border',
  );
}
