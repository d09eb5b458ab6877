/**
 * Hyper-parameters of FLUX.1's two text encoders, named after the Hugging Face configs the
 * reference loads (`T5EncoderModel` google/t5-v1_1-xxl, `CLIPTextModel` openai/clip-vit-large-patch14),
 * plus tiny variants for CPU tests. Tiny configs match the tiny FLUX config's text widths
 * (contextInDim 12, vecInDim 8) so a tiny bundle can carry them.
 */
import { TextModelError } from './errors.ts';

/** T5 v1.1 encoder: relative position bias, gated-GELU feed-forward, RMS norm, no biases. */
export interface T5Config {
  readonly name: string;
  readonly vocabSize: number;
  /** Width of every token (4096 for XXL: FLUX's `contextInDim`). */
  readonly dModel: number;
  /** Width of one head; heads x dKv is the attention's inner width (not necessarily dModel). */
  readonly dKv: number;
  readonly numHeads: number;
  /** Feed-forward inner width (wi_0 / wi_1 rows). */
  readonly dFf: number;
  readonly numLayers: number;
  readonly relativeAttentionNumBuckets: number;
  readonly relativeAttentionMaxDistance: number;
  readonly layerNormEpsilon: number;
}

/** CLIP's text transformer: causal self-attention, quick GELU, final layer norm, pooled at end-of-text. */
export interface ClipTextConfig {
  readonly name: string;
  readonly vocabSize: number;
  /** Width of every token and of the pooled vector (768 for CLIP-L: FLUX's `vecInDim`). */
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Position embeddings, also the tokenizer's padded length (77). */
  readonly maxPositionEmbeddings: number;
  readonly layerNormEpsilon: number;
  /** The end-of-text token: the pooled output is the first position holding it. */
  readonly eosTokenId: number;
}

const T5_V1_1_XXL: T5Config = {
  name: 't5-v1_1-xxl',
  vocabSize: 32128,
  dModel: 4096,
  dKv: 64,
  numHeads: 64,
  dFf: 10240,
  numLayers: 24,
  relativeAttentionNumBuckets: 32,
  relativeAttentionMaxDistance: 128,
  layerNormEpsilon: 1e-6,
};

const CLIP_VIT_L_14: ClipTextConfig = {
  name: 'clip-vit-large-patch14',
  vocabSize: 49408,
  hiddenSize: 768,
  intermediateSize: 3072,
  numLayers: 12,
  numHeads: 12,
  maxPositionEmbeddings: 77,
  layerNormEpsilon: 1e-5,
  eosTokenId: 49407,
};

/**
 * Tiny T5 for tests: the vocabulary covers the test tokenizer (gpu-function/test/text/fixtures),
 * the width is the tiny FLUX config's contextInDim, and the inner attention width (2 x 5) differs
 * from dModel as XXL's may not, so a transposed projection would fail to build.
 */
const TINY_T5: T5Config = {
  name: 'tiny-t5',
  vocabSize: 1024,
  dModel: 12,
  dKv: 5,
  numHeads: 2,
  dFf: 20,
  numLayers: 2,
  relativeAttentionNumBuckets: 8,
  relativeAttentionMaxDistance: 12,
  layerNormEpsilon: 1e-6,
};

/** Tiny CLIP for tests: the test tokenizer's vocabulary, the tiny FLUX config's vecInDim. */
const TINY_CLIP: ClipTextConfig = {
  name: 'tiny-clip',
  vocabSize: 1024,
  hiddenSize: 8,
  intermediateSize: 16,
  numLayers: 2,
  numHeads: 2,
  maxPositionEmbeddings: 77,
  layerNormEpsilon: 1e-5,
  eosTokenId: 1023,
};

export const t5Configs = {
  't5-v1_1-xxl': T5_V1_1_XXL,
  'tiny-t5': TINY_T5,
} as const satisfies Record<string, T5Config>;

export const clipTextConfigs = {
  'clip-vit-large-patch14': CLIP_VIT_L_14,
  'tiny-clip': TINY_CLIP,
} as const satisfies Record<string, ClipTextConfig>;

function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}

function fail(config: { name: string }, why: string): never {
  throw new TextModelError('invalid_config', `config '${config.name}': ${why}`);
}

function requireIntegers<C extends { name: string }>(config: C, fields: readonly (keyof C)[]): void {
  for (const field of fields) {
    const value = config[field] as number;
    if (!isPositiveInteger(value)) fail(config, `${String(field)} must be a positive integer, got ${value}`);
  }
}

export function validateT5Config(config: T5Config): T5Config {
  requireIntegers(config, [
    'vocabSize',
    'dModel',
    'dKv',
    'numHeads',
    'dFf',
    'numLayers',
    'relativeAttentionNumBuckets',
    'relativeAttentionMaxDistance',
  ]);
  // Bidirectional buckets: half per direction, half of those exact distances.
  if (config.relativeAttentionNumBuckets % 4 !== 0) {
    fail(
      config,
      `relativeAttentionNumBuckets must be a multiple of 4, got ${config.relativeAttentionNumBuckets}`,
    );
  }
  if (config.relativeAttentionMaxDistance <= config.relativeAttentionNumBuckets / 4) {
    fail(config, 'relativeAttentionMaxDistance must exceed the exact-distance buckets (numBuckets / 4)');
  }
  if (!(config.layerNormEpsilon > 0)) fail(config, 'layerNormEpsilon must be positive');
  return config;
}

export function validateClipTextConfig(config: ClipTextConfig): ClipTextConfig {
  requireIntegers(config, [
    'vocabSize',
    'hiddenSize',
    'intermediateSize',
    'numLayers',
    'numHeads',
    'maxPositionEmbeddings',
  ]);
  if (config.hiddenSize % config.numHeads !== 0) {
    fail(config, `hiddenSize ${config.hiddenSize} must be divisible by numHeads ${config.numHeads}`);
  }
  if (
    !Number.isInteger(config.eosTokenId) ||
    config.eosTokenId < 0 ||
    config.eosTokenId >= config.vocabSize
  ) {
    fail(
      config,
      `eosTokenId ${config.eosTokenId} must be a token of the ${config.vocabSize}-token vocabulary`,
    );
  }
  if (!(config.layerNormEpsilon > 0)) fail(config, 'layerNormEpsilon must be positive');
  return config;
}
