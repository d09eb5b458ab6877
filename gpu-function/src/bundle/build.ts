import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertCheckpoint } from '../flux/checkpoint-check.ts';
import { autoEncoderCheckpointKeys, fluxCheckpointKeys, type ParamSpec } from '../flux/checkpoint-keys.ts';
import {
  type AutoEncoderConfig,
  autoEncoderConfigs,
  autoEncoderDownscale,
  type FluxConfig,
  fluxConfigs,
} from '../flux/config.ts';
import { buildDragStepGraph } from '../flux/drag-step.ts';
import { FluxModelError } from '../flux/errors.ts';
import { buildFeatureGraph, type MapSize } from '../flux/features.ts';
import type { WeightOptions } from '../flux/param-binder.ts';
import { buildVelocityGraph, type TokenGrid } from '../flux/transformer.ts';
import { buildDecoderGraph, buildEncoderGraph } from '../flux/vae.ts';
import {
  CLIP_OPTIONAL_BUFFERS,
  clipTextCheckpointKeys,
  t5EncoderCheckpointKeys,
} from '../text/checkpoint-keys.ts';
import { clipTextConfigs, t5Configs } from '../text/config.ts';
import {
  type CheckpointSource,
  generatedCheckpoint,
  openCheckpoint,
  openCheckpointFolder,
} from './checkpoint-source.ts';
import { BundleError } from './errors.ts';
import type { Licence, StorageDtype } from './manifest.ts';
import type { BundleConfig } from './model-config.ts';
import { RANDOM_WEIGHTS_GENERATOR, randomParameter } from './random-weights.ts';
import { TEXT_ENCODER_LICENCES, type TextEncoderSpec, textEncoderPlan } from './text-encoders.ts';
import {
  type BundlePlan,
  type GraphPlan,
  type WeightLookup,
  type WriteOptions,
  type WriteResult,
  writeBundle,
} from './write.ts';

/** The released FLUX.1 models a bundle can be built from, with their files and licences. */
export const RELEASED_MODELS = {
  'flux1-dev': {
    checkpoint: 'flux1-dev.safetensors',
    /** T5 tokens FLUX.1-dev was trained with (the reference's max_length). */
    t5Tokens: 512,
    licence: {
      id: 'FLUX.1-dev-Non-Commercial',
      commercial_use: false,
      url: 'https://huggingface.co/black-forest-labs/FLUX.1-dev/blob/main/LICENSE.md',
    },
  },
  'flux1-schnell': {
    checkpoint: 'flux1-schnell.safetensors',
    t5Tokens: 256,
    licence: { id: 'Apache-2.0', commercial_use: true, url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  },
} as const satisfies Record<string, { checkpoint: string; t5Tokens: number; licence: Licence }>;
export type ReleasedModel = keyof typeof RELEASED_MODELS;

export const AUTOENCODER_CHECKPOINT = 'ae.safetensors';

/**
 * Token grid the bundled graphs are built for: 512x512 images and the DragFlow reference's 256 text
 * tokens. Graphs have concrete shapes; a runtime builds other sizes from the manifest's weight index.
 */
export const FULL_SIZE_GRID: TokenGrid = { batch: 1, height: 32, width: 32, textTokens: 256 };
/** The tiny test config: 4x4 tokens, i.e. 16x16 images (its autoencoder downscales by 2). */
export const TINY_GRID: TokenGrid = { batch: 1, height: 4, width: 4, textTokens: 8 };

function bind(lookup: WeightLookup, stored: StorageDtype): WeightOptions {
  return { source: (spec) => lookup(spec.name), stored };
}

/**
 * The transformer variants every bundle carries (flux/transformer.ts, features.ts, drag-step.ts):
 * the plain velocity, DragFlow's supervision features, and one drag step for a single region.
 * K/V-injection and multi-region variants are built by the runtime from the weight index.
 */
export function transformerGraphs(config: FluxConfig, grid: TokenGrid, image: MapSize): GraphPlan[] {
  return [
    {
      name: 'velocity',
      build: (lookup, stored) => buildVelocityGraph(config, { grid, weights: bind(lookup, stored) }),
    },
    {
      name: 'features',
      build: (lookup, stored) => buildFeatureGraph(config, { grid, image, weights: bind(lookup, stored) }),
    },
    {
      name: 'drag_step',
      build: (lookup, stored) =>
        buildDragStepGraph(config, { grid, image, regions: 1, weights: bind(lookup, stored) }),
    },
  ];
}

/** The image a token grid covers through an autoencoder (a token packs 2x2 latent cells). */
export function gridImageSize(config: AutoEncoderConfig, grid: TokenGrid): MapSize {
  const pixelsPerToken = 2 * autoEncoderDownscale(config);
  return { height: grid.height * pixelsPerToken, width: grid.width * pixelsPerToken };
}

/** The autoencoder's encoder and decoder for images of the grid's size. */
export function autoEncoderGraphs(config: AutoEncoderConfig, grid: TokenGrid): GraphPlan[] {
  const size = { batch: grid.batch, ...gridImageSize(config, grid) };
  return [
    {
      name: 'vae_encoder',
      build: (lookup, stored) => buildEncoderGraph(config, { ...size, weights: bind(lookup, stored) }),
    },
    {
      name: 'vae_decoder',
      build: (lookup, stored) => buildDecoderGraph(config, { ...size, weights: bind(lookup, stored) }),
    },
  ];
}

export function modelConfig(
  transformer: FluxConfig,
  autoencoder: AutoEncoderConfig,
  grid: TokenGrid,
): BundleConfig {
  return {
    transformer: { ...transformer, axesDim: [...transformer.axesDim] },
    autoencoder: { ...autoencoder, chMult: [...autoencoder.chMult] },
    graph_grid: { ...grid },
  };
}

function refuseSource(file: string, error: unknown): never {
  if (error instanceof FluxModelError || (error as { code?: string }).code !== undefined) {
    throw BundleError.of('bundle_source_invalid', file, `${file}: ${(error as Error).message}`);
  }
  throw error;
}

/** Checks a source's tensor names, shapes and dtypes against the model before any data is read. */
function checkSource(source: CheckpointSource, expected: readonly ParamSpec[]): void {
  const header = source.tensors.map((t) => [t.name, { dtype: t.dtype, shape: t.shape }] as const);
  try {
    assertCheckpoint('its header', header, expected);
  } catch (error) {
    refuseSource(source.file, error);
  }
}

/** What a checkpoint bundle is built as: the model's name, configs, graph grid and licence. */
export interface ModelSpec {
  model: string;
  transformer: FluxConfig;
  autoencoder: AutoEncoderConfig;
  grid: TokenGrid;
  licence: Licence;
}

export function releasedModelSpec(model: ReleasedModel, grid: TokenGrid = FULL_SIZE_GRID): ModelSpec {
  return {
    model,
    transformer: fluxConfigs[model],
    autoencoder: autoEncoderConfigs['flux1-ae'],
    grid,
    licence: RELEASED_MODELS[model].licence,
  };
}

export interface CheckpointBuildOptions extends WriteOptions {
  /** Weight storage dtype; default bfloat16, the released files' own (no conversion, no loss). */
  storage?: StorageDtype;
  /** The prompt encoders and their checkpoints, when the bundle carries them. */
  text?: { spec: TextEncoderSpec; t5: CheckpointSource; clip: CheckpointSource };
}

/**
 * A bundle from a transformer and an autoencoder checkpoint (files on disk or generated): every
 * tensor name, shape and dtype is checked against the model before any data is read.
 */
export async function buildCheckpointBundle(
  spec: ModelSpec,
  transformer: CheckpointSource,
  autoencoder: CheckpointSource,
  out: string,
  options: CheckpointBuildOptions = {},
): Promise<WriteResult> {
  const { text } = options;
  let encoders: Awaited<ReturnType<typeof textEncoderPlan>> | undefined;
  try {
    checkSource(transformer, fluxCheckpointKeys(spec.transformer));
    checkSource(autoencoder, autoEncoderCheckpointKeys(spec.autoencoder));
    if (text) {
      checkSource(text.t5, t5EncoderCheckpointKeys(text.spec.t5));
      checkSource(text.clip, clipTextCheckpointKeys(text.spec.clip));
      encoders = await textEncoderPlan(text.spec, text);
    }
  } catch (error) {
    for (const source of [transformer, autoencoder, text?.t5, text?.clip]) await source?.close();
    throw error;
  }
  const grid = encoders ? { ...spec.grid, textTokens: text!.spec.t5Tokens } : spec.grid;
  const plan: BundlePlan = {
    model: spec.model,
    config: modelConfig(spec.transformer, spec.autoencoder, grid),
    storage: options.storage ?? 'bfloat16',
    weights: [
      { file: 'transformer.weights', source: transformer },
      { file: 'ae.weights', source: autoencoder },
      ...(encoders?.weights ?? []),
    ],
    graphs: [
      ...transformerGraphs(spec.transformer, grid, gridImageSize(spec.autoencoder, grid)),
      ...autoEncoderGraphs(spec.autoencoder, grid),
      ...(encoders?.graphs ?? []),
    ],
    licence: spec.licence,
    origin: { kind: 'checkpoint' },
    generative_prior: true,
    ...(encoders ? { textEncoders: encoders.textEncoders, copies: encoders.copies } : {}),
  };
  return writeBundle(out, plan, options);
}

async function openSource(dir: string, file: string): Promise<CheckpointSource> {
  const path = join(dir, file);
  if (!(await stat(path).catch(() => null))?.isFile()) {
    throw BundleError.of('bundle_source_invalid', file, `${path} not found; --from must hold ${file}`);
  }
  return openCheckpoint(path).catch((error: unknown) => refuseSource(file, error));
}

/** The FLUX.1 repository's encoder folders: CLIP in text_encoder/, T5 in text_encoder_2/. */
export const TEXT_ENCODER_DIRS = { clip: 'text_encoder', t5: 'text_encoder_2' } as const;

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/**
 * The released encoders from a FLUX.1 repository folder (text_encoder/, text_encoder_2/ with its
 * shard index, tokenizer/, tokenizer_2/), or undefined when it has none of the encoder folders.
 */
export async function openReleasedTextEncoders(
  from: string,
  model: ReleasedModel,
): Promise<CheckpointBuildOptions['text']> {
  const dirs = [TEXT_ENCODER_DIRS.clip, TEXT_ENCODER_DIRS.t5];
  const present = await Promise.all(dirs.map((d) => isFolder(join(from, d))));
  if (!present.some(Boolean)) return undefined;
  if (!present.every(Boolean)) {
    const missing = dirs.filter((_, i) => !present[i]);
    throw BundleError.of(
      'bundle_source_invalid',
      missing[0]!,
      `${from} has one text encoder folder but not ${missing.join(', ')}`,
    );
  }
  const open = (dir: string, skip: readonly string[] = []) =>
    openCheckpointFolder(join(from, dir), dir, { skip }).catch((error: unknown) => refuseSource(dir, error));
  const t5 = await open(TEXT_ENCODER_DIRS.t5);
  const clip = await open(TEXT_ENCODER_DIRS.clip, CLIP_OPTIONAL_BUFFERS).catch(async (error: unknown) => {
    await t5.close();
    throw error;
  });
  const spec: TextEncoderSpec = {
    t5: t5Configs['t5-v1_1-xxl'],
    clip: clipTextConfigs['clip-vit-large-patch14'],
    t5Tokens: RELEASED_MODELS[model].t5Tokens,
    tokenizerRoot: from,
    licences: TEXT_ENCODER_LICENCES,
  };
  return { spec, t5, clip };
}

/**
 * `bundle build --from <dir> --model flux1-dev|flux1-schnell`: converts the released files, and the
 * text encoders too when the folder has the FLUX.1 repository's text_encoder/ and text_encoder_2/.
 */
export async function buildFromCheckpoints(
  from: string,
  model: ReleasedModel,
  out: string,
  options: CheckpointBuildOptions = {},
): Promise<WriteResult> {
  const transformer = await openSource(from, RELEASED_MODELS[model].checkpoint);
  const autoencoder = await openSource(from, AUTOENCODER_CHECKPOINT).catch(async (error: unknown) => {
    await transformer.close();
    throw error;
  });
  const text = await openReleasedTextEncoders(from, model).catch(async (error: unknown) => {
    await transformer.close();
    await autoencoder.close();
    throw error;
  });
  return buildCheckpointBundle(releasedModelSpec(model), transformer, autoencoder, out, {
    ...options,
    ...(text ? { text } : {}),
  });
}

/** Configs `--random` can build: the tiny test model, its autoencoder, and (with tokenizers) tiny encoders. */
export const RANDOM_CONFIGS = {
  tiny: {
    transformer: fluxConfigs.tiny,
    autoencoder: autoEncoderConfigs['tiny-ae'],
    grid: TINY_GRID,
    t5: t5Configs['tiny-t5'],
    clip: clipTextConfigs['tiny-clip'],
  },
} as const;
export type RandomConfigName = keyof typeof RANDOM_CONFIGS;

export interface RandomBundleOptions extends WriteOptions {
  /**
   * A folder with tokenizer/ and tokenizer_2/ (the FLUX.1 layout) whose vocabularies fit the tiny
   * encoders: the bundle then carries random T5 and CLIP encoders and those tokenizer files.
   */
  tokenizers?: string;
}

const RANDOM_LICENCE: Licence = {
  id: 'dragflow-random-weights',
  commercial_use: true,
  text: 'Random numbers generated by dragflow from a seed; no third-party weights or data. Free to use for any purpose.',
};

/** `bundle build --random --config tiny --seed n [--tokenizers dir]`: deterministic random weights, for tests. */
export async function buildRandomBundle(
  configName: RandomConfigName,
  seed: number,
  out: string,
  options: RandomBundleOptions = {},
): Promise<WriteResult> {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`--seed must be an integer in [0, 4294967295], got ${seed}`);
  }
  const { transformer, autoencoder, grid, t5, clip } = RANDOM_CONFIGS[configName];
  const random = (file: string, specs: readonly ParamSpec[]) =>
    generatedCheckpoint(file, specs, 'F32', (t) => randomParameter(seed, t.name, t.shape, 'F32'));
  const text =
    options.tokenizers === undefined
      ? undefined
      : await textEncoderPlan(
          {
            t5,
            clip,
            t5Tokens: grid.textTokens,
            tokenizerRoot: options.tokenizers,
            licences: { t5: RANDOM_LICENCE, clip: RANDOM_LICENCE },
          },
          {
            t5: random('t5', t5EncoderCheckpointKeys(t5)),
            clip: random('clip', clipTextCheckpointKeys(clip)),
          },
        );
  const plan: BundlePlan = {
    model: configName,
    config: modelConfig(transformer, autoencoder, grid),
    storage: 'float32',
    weights: [
      { file: 'transformer.weights', source: random('transformer', fluxCheckpointKeys(transformer)) },
      { file: 'ae.weights', source: random('ae', autoEncoderCheckpointKeys(autoencoder)) },
      ...(text?.weights ?? []),
    ],
    graphs: [
      ...transformerGraphs(transformer, grid, gridImageSize(autoencoder, grid)),
      ...autoEncoderGraphs(autoencoder, grid),
      ...(text?.graphs ?? []),
    ],
    licence: RANDOM_LICENCE,
    origin: { kind: 'random', generator: RANDOM_WEIGHTS_GENERATOR, seed },
    generative_prior: false,
    notice: `Random weights (seed ${seed}) for tests: this bundle has no generative prior and produces noise, not images.`,
    ...(text ? { textEncoders: text.textEncoders, copies: text.copies } : {}),
  };
  return writeBundle(out, plan, options);
}
