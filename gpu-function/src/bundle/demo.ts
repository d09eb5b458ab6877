import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fluxCheckpointKeys } from '../flux/checkpoint-keys.ts';
import type { TokenGrid } from '../flux/transformer.ts';
import { transformerGraphs } from './build.ts';
import { generatedCheckpoint } from './checkpoint-source.ts';
import {
  DEMO_FEATURE_GAIN,
  DEMO_FLUX_CONFIG,
  DEMO_RESIDUAL_GATE,
  DEMO_SEED,
  demoTransformerParameter,
} from './demo-transformer.ts';
import {
  DEMO_LATENT_CHANNELS,
  DEMO_PATCH,
  demoVaeDecoder,
  demoVaeEncoder,
  PATCH_BASIS_NAME,
  PATCH_BASIS_SHAPE,
  patchBasis,
} from './demo-vae.ts';
import { BundleError } from './errors.ts';
import { BUNDLE_FORMAT_VERSION, type Manifest } from './manifest.ts';
import type { BundleConfig } from './model-config.ts';
import { RANDOM_WEIGHTS_GENERATOR } from './random-weights.ts';
import { inspectBundle } from './verify.ts';
import { type BundlePlan, writeBundle } from './write.ts';

/** The demo edits 256x256 images: latent 192 x 32 x 32, 16 x 16 image tokens, 8 (zero) text tokens. */
export const DEMO_IMAGE_SIZE = { height: 256, width: 256 } as const;
export const DEMO_GRID: TokenGrid = { batch: 1, height: 16, width: 16, textTokens: 8 };
/** Bump when the recipe changes: the cache folder name follows, so stale bundles are never reused. */
const DEMO_RECIPE_VERSION = 4;

export const DEMO_NOTICE =
  'Demo bundle: it has NO generative prior. Its weights were not trained on images: the autoencoder is ' +
  'an exact orthonormal transform of 8x8 pixel patches and the transformer predicts zero velocity, so ' +
  'a drag edit moves the selected pixels and cannot invent new content. Use it to see the edit ' +
  'mechanics, not image quality.';

const RECIPE =
  `dragflow demo recipe v${DEMO_RECIPE_VERSION}: VAE = 8x8x3 patch transform by (colour basis x 2-D DCT-II), ` +
  `orthonormal; transformer = zero final layer (velocity 0), img_in = ${DEMO_FEATURE_GAIN} x 192-point ` +
  `DCT-II on each 2x2 latent cell of a token (orthonormal, cell-local), zero modulation weights with residual gates ${DEMO_RESIDUAL_GATE} and image norm1 ` +
  `scale ${DEMO_FEATURE_GAIN}, other weights ${RANDOM_WEIGHTS_GENERATOR} seed ${DEMO_SEED}; supervision ` +
  'feature maps at latent size (divisor s = 1).';

const DEMO_CONFIG: BundleConfig = {
  transformer: { ...DEMO_FLUX_CONFIG, axesDim: [...DEMO_FLUX_CONFIG.axesDim] },
  autoencoder: {
    name: 'demo-orthonormal-patch' as const,
    patch: DEMO_PATCH,
    zChannels: DEMO_LATENT_CHANNELS,
    scaleFactor: 1,
    shiftFactor: 0,
  },
  graph_grid: { ...DEMO_GRID },
  image_size: { ...DEMO_IMAGE_SIZE },
};

export function demoPlan(): BundlePlan {
  const { height, width } = DEMO_IMAGE_SIZE;
  const transformer = generatedCheckpoint(
    'demo-transformer',
    fluxCheckpointKeys(DEMO_FLUX_CONFIG),
    'F32',
    (t) => demoTransformerParameter(t.name, t.shape),
  );
  const vae = generatedCheckpoint(
    'demo-vae',
    [{ name: PATCH_BASIS_NAME, shape: PATCH_BASIS_SHAPE }],
    'F32',
    () => [new Uint8Array(patchBasis().buffer)],
  );
  return {
    model: 'demo',
    config: DEMO_CONFIG,
    storage: 'float32',
    weights: [
      { file: 'transformer.weights', source: transformer },
      { file: 'vae.weights', source: vae },
    ],
    graphs: [
      ...transformerGraphs(DEMO_FLUX_CONFIG, DEMO_GRID, DEMO_IMAGE_SIZE),
      { name: 'vae_encoder', build: (lookup) => demoVaeEncoder(height, width, lookup) },
      { name: 'vae_decoder', build: (lookup) => demoVaeDecoder(height, width, lookup) },
    ],
    licence: {
      id: 'dragflow-demo-weights',
      commercial_use: true,
      text: 'Weights computed by dragflow from a fixed recipe (DCT bases, zeros, seeded random numbers); no third-party weights or data. Free to use for any purpose.',
    },
    origin: { kind: 'constructed', recipe: RECIPE },
    generative_prior: false,
    notice: DEMO_NOTICE,
  };
}

/** `$DRAGFLOW_CACHE` when set, else `~/.cache/dragflow`. */
export function cacheRoot(): string {
  return process.env.DRAGFLOW_CACHE || join(homedir(), '.cache', 'dragflow');
}

/** `demo-<12 hex>`: the hash of the recipe, so a changed recipe gets a fresh folder. */
export function demoBundleDir(root = cacheRoot()): string {
  // The bundle format is part of the name: caches shared by different dragflow versions never clash.
  const id = createHash('sha256')
    .update(RECIPE)
    .update(JSON.stringify(DEMO_CONFIG))
    .update(`format ${BUNDLE_FORMAT_VERSION}`)
    .digest('hex');
  return join(root, `demo-${id.slice(0, 12)}`);
}

/**
 * The demo bundle's folder, generating it on first use (about a second; ~150 MB of float32 weights).
 * A cached copy is verified (every sha256) and regenerated when it is incomplete or corrupted.
 */
export async function ensureDemoBundle(
  root = cacheRoot(),
): Promise<{ dir: string; manifest: Manifest; built: boolean }> {
  const dir = demoBundleDir(root);
  const cached = await inspectBundle(dir);
  if (cached.manifest !== null && cached.problems.length === 0)
    return { dir, manifest: cached.manifest, built: false };
  await rm(dir, { recursive: true, force: true });
  try {
    await writeBundle(dir, demoPlan());
  } catch (error) {
    // Another process may have finished the same bundle first; use it when it is intact.
    if (!(error instanceof BundleError && error.code === 'bundle_out_exists')) throw error;
  }
  const fresh = await inspectBundle(dir);
  if (fresh.manifest === null || fresh.problems.length > 0) throw new BundleError(fresh.problems);
  return { dir, manifest: fresh.manifest, built: true };
}
