/**
 * Exact Euclidean distance transform (Felzenszwalb and Huttenlocher's separable lower-envelope
 * algorithm): for every pixel, the distance between its centre and the nearest centre of a pixel
 * whose mask value is `siteValue`. Infinity everywhere when there is no such pixel.
 */
import type { BinaryMask } from '../image/binary-mask.ts';

export function distanceToSites(mask: BinaryMask, siteValue: 0 | 1): Float64Array {
  const { width, height } = mask;
  const squared = new Float64Array(width * height);
  for (let i = 0; i < squared.length; i++)
    squared[i] = mask.data[i] === siteValue ? 0 : Number.POSITIVE_INFINITY;
  const line = new Float64Array(Math.max(width, height));
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) line[y] = squared[y * width + x]!;
    const column = lowerEnvelope(line, height);
    for (let y = 0; y < height; y++) squared[y * width + x] = column[y]!;
  }
  for (let y = 0; y < height; y++) {
    const row = lowerEnvelope(squared.subarray(y * width, (y + 1) * width), width);
    squared.set(row, y * width);
  }
  return squared.map(Math.sqrt);
}

/** 1-D squared distance transform of f[0..n): d(q) = min_p (q - p)^2 + f(p). */
function lowerEnvelope(f: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const vertex = new Int32Array(n);
  const boundary = new Float64Array(n + 1);
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq === Number.POSITIVE_INFINITY) continue;
    let s = Number.NEGATIVE_INFINITY;
    while (k >= 0) {
      const p = vertex[k]!;
      s = (fq + q * q - (f[p]! + p * p)) / (2 * (q - p));
      if (s > boundary[k]!) break;
      k--;
    }
    k++;
    vertex[k] = q;
    boundary[k] = k === 0 ? Number.NEGATIVE_INFINITY : s;
    boundary[k + 1] = Number.POSITIVE_INFINITY;
  }
  if (k < 0) return out;
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (boundary[j + 1]! < q) j++;
    const p = vertex[j]!;
    out[q] = (q - p) * (q - p) + f[p]!;
  }
  return out;
}
