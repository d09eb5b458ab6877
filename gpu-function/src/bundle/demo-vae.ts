import { recordCompute } from '../flux/precision.ts';
import { Graph } from '../graph/graph.ts';
import type { WeightLookup } from './write.ts';

/**
 * The demo bundle's autoencoder: not a learned codec but an orthonormal transform of 8x8 RGB
 * patches, so decode(encode(x)) = x up to float32 rounding and the demo shows the edit, not codec
 * noise. Latent channel k = colour basis (k / 64) x 2-D DCT frequency (k % 64 as row, column):
 * channel 0 is the patch's mean luminance, so the latent still looks like a small image.
 */
export const DEMO_PATCH = 8;
export const DEMO_IMAGE_CHANNELS = 3;
export const DEMO_LATENT_CHANNELS = DEMO_IMAGE_CHANNELS * DEMO_PATCH * DEMO_PATCH;
export const PATCH_BASIS_NAME = 'patch_basis.weight';
export const PATCH_BASIS_SHAPE = [DEMO_LATENT_CHANNELS, DEMO_IMAGE_CHANNELS, DEMO_PATCH, DEMO_PATCH] as const;

/** Orthonormal colour basis: luminance, then two opponent axes (rows are unit, mutually orthogonal). */
const COLOUR_BASIS = [
  [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)],
  [1 / Math.sqrt(2), 0, -1 / Math.sqrt(2)],
  [1 / Math.sqrt(6), -2 / Math.sqrt(6), 1 / Math.sqrt(6)],
];

/** Orthonormal DCT-II matrix of size n: row u, column x. */
export function dctMatrix(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let u = 0; u < n; u++) {
    const scale = Math.sqrt((u === 0 ? 1 : 2) / n);
    for (let x = 0; x < n; x++) m[u * n + x] = scale * Math.cos((Math.PI * (2 * x + 1) * u) / (2 * n));
  }
  return m;
}

/** The patch basis as a Conv weight [192, 3, 8, 8]; as a 192x192 matrix it is orthonormal. */
export function patchBasis(): Float32Array {
  const p = DEMO_PATCH;
  const dct = dctMatrix(p);
  const w = new Float32Array(DEMO_LATENT_CHANNELS * DEMO_IMAGE_CHANNELS * p * p);
  for (let colour = 0; colour < DEMO_IMAGE_CHANNELS; colour++) {
    for (let u = 0; u < p; u++) {
      for (let v = 0; v < p; v++) {
        const k = colour * p * p + u * p + v;
        for (let c = 0; c < DEMO_IMAGE_CHANNELS; c++) {
          for (let y = 0; y < p; y++) {
            for (let x = 0; x < p; x++) {
              const value = COLOUR_BASIS[colour]![c]! * dct[u * p + y]! * dct[v * p + x]!;
              w[((k * DEMO_IMAGE_CHANNELS + c) * p + y) * p + x] = value;
            }
          }
        }
      }
    }
  }
  return w;
}

function basisParam(g: Graph, weights: WeightLookup | Float32Array) {
  const data = weights instanceof Float32Array ? weights : weights(PATCH_BASIS_NAME);
  return g.param(PATCH_BASIS_NAME, 'float32', PATCH_BASIS_SHAPE, data);
}

function checkSize(height: number, width: number): void {
  if (
    !Number.isInteger(height / DEMO_PATCH) ||
    !Number.isInteger(width / DEMO_PATCH) ||
    height <= 0 ||
    width <= 0
  ) {
    throw new RangeError(
      `demo VAE: image ${height}x${width} must have positive sides divisible by ${DEMO_PATCH}`,
    );
  }
}

/** image [1, 3, H, W] -> latent [1, 192, H/8, W/8]: one stride-8 convolution with the basis. */
export function demoVaeEncoder(height: number, width: number, weights: WeightLookup | Float32Array): Graph {
  checkSize(height, width);
  const g = new Graph('demo_vae_encoder');
  recordCompute(g, 'float32');
  const image = g.input('image', 'float32', [1, DEMO_IMAGE_CHANNELS, height, width]);
  g.output('latent', g.conv(image, basisParam(g, weights), undefined, { strides: [DEMO_PATCH, DEMO_PATCH] }));
  return g;
}

/** latent [1, 192, H/8, W/8] -> image [1, 3, H, W]: the transposed convolution, i.e. the inverse. */
export function demoVaeDecoder(height: number, width: number, weights: WeightLookup | Float32Array): Graph {
  checkSize(height, width);
  const g = new Graph('demo_vae_decoder');
  recordCompute(g, 'float32');
  const latent = g.input('latent', 'float32', [
    1,
    DEMO_LATENT_CHANNELS,
    height / DEMO_PATCH,
    width / DEMO_PATCH,
  ]);
  const [image] = g.op('ConvTranspose', [latent, basisParam(g, weights)], {
    kernel_shape: [DEMO_PATCH, DEMO_PATCH],
    strides: [DEMO_PATCH, DEMO_PATCH],
    pads: [0, 0, 0, 0],
  });
  g.output('image', image!);
  return g;
}
