/**
 * Hyper-parameters of the FLUX.1 transformer and its autoencoder, named after the reference
 * (black-forest-labs/flux `FluxParams` and `AutoEncoderParams`), plus tiny variants for CPU tests.
 */
import { FluxModelError } from './errors.ts';

export interface FluxConfig {
  readonly name: string;
  /** Packed latent channels per image token: latent channels x 2 x 2. */
  readonly inChannels: number;
  readonly outChannels: number;
  /** Width of the pooled text vector `y` (CLIP-L: 768). */
  readonly vecInDim: number;
  /** Width of each text token `txt` (T5-XXL: 4096). */
  readonly contextInDim: number;
  readonly hiddenSize: number;
  readonly mlpRatio: number;
  readonly numHeads: number;
  /** Number of double-stream blocks. */
  readonly depth: number;
  /** Number of single-stream blocks. */
  readonly depthSingleBlocks: number;
  /** RoPE channels per position axis; sums to the head dimension. */
  readonly axesDim: readonly number[];
  readonly theta: number;
  readonly qkvBias: boolean;
  /** Distilled guidance strength is an input (dev) or absent (schnell). */
  readonly guidanceEmbed: boolean;
  /** Width of the sinusoidal timestep / guidance embedding (the reference fixes 256). */
  readonly timestepEmbedDim: number;
}

const FLUX1_DEV: FluxConfig = {
  name: 'flux1-dev',
  inChannels: 64,
  outChannels: 64,
  vecInDim: 768,
  contextInDim: 4096,
  hiddenSize: 3072,
  mlpRatio: 4,
  numHeads: 24,
  depth: 19,
  depthSingleBlocks: 38,
  axesDim: [16, 56, 56],
  theta: 10_000,
  qkvBias: true,
  guidanceEmbed: true,
  timestepEmbedDim: 256,
};

const FLUX1_SCHNELL: FluxConfig = { ...FLUX1_DEV, name: 'flux1-schnell', guidanceEmbed: false };

/** Same wiring as flux1-dev at a size that runs in milliseconds on a CPU. */
const TINY: FluxConfig = {
  name: 'tiny',
  inChannels: 16,
  outChannels: 16,
  vecInDim: 8,
  contextInDim: 12,
  hiddenSize: 48,
  mlpRatio: 4,
  numHeads: 2,
  depth: 2,
  depthSingleBlocks: 2,
  axesDim: [4, 10, 10],
  theta: 10_000,
  qkvBias: true,
  guidanceEmbed: true,
  timestepEmbedDim: 16,
};

const TINY_SCHNELL: FluxConfig = { ...TINY, name: 'tiny-schnell', guidanceEmbed: false };

export const fluxConfigs = {
  'flux1-dev': FLUX1_DEV,
  'flux1-schnell': FLUX1_SCHNELL,
  tiny: TINY,
  'tiny-schnell': TINY_SCHNELL,
} as const satisfies Record<string, FluxConfig>;

export type FluxConfigName = keyof typeof fluxConfigs;

export function headDim(config: FluxConfig): number {
  return config.hiddenSize / config.numHeads;
}

export function mlpHiddenDim(config: FluxConfig): number {
  return Math.floor(config.hiddenSize * config.mlpRatio);
}

export interface AutoEncoderConfig {
  readonly name: string;
  readonly resolution: number;
  /** Image channels (RGB). */
  readonly inChannels: number;
  /** Base channel count; level i has ch * chMult[i] channels. */
  readonly ch: number;
  readonly outCh: number;
  readonly chMult: readonly number[];
  readonly numResBlocks: number;
  /** Latent channels. */
  readonly zChannels: number;
  /** latent = (encoder mean - shiftFactor) * scaleFactor. */
  readonly scaleFactor: number;
  readonly shiftFactor: number;
  /** GroupNorm groups (the reference fixes 32). */
  readonly normGroups: number;
}

const FLUX1_AE: AutoEncoderConfig = {
  name: 'flux1-ae',
  resolution: 256,
  inChannels: 3,
  ch: 128,
  outCh: 3,
  chMult: [1, 2, 4, 4],
  numResBlocks: 2,
  zChannels: 16,
  scaleFactor: 0.3611,
  shiftFactor: 0.1159,
  normGroups: 32,
};

/** Two levels (one down/up-sampling) and 4 groups: every module kind of the real AE, tiny. */
const TINY_AE: AutoEncoderConfig = {
  name: 'tiny-ae',
  resolution: 16,
  inChannels: 3,
  ch: 8,
  outCh: 3,
  chMult: [1, 2],
  numResBlocks: 1,
  zChannels: 4,
  scaleFactor: 0.3611,
  shiftFactor: 0.1159,
  normGroups: 4,
};

export const autoEncoderConfigs = {
  'flux1-ae': FLUX1_AE,
  'tiny-ae': TINY_AE,
} as const satisfies Record<string, AutoEncoderConfig>;

export type AutoEncoderConfigName = keyof typeof autoEncoderConfigs;

/** Spatial down-scaling between image and latent (8 for FLUX.1). */
export function autoEncoderDownscale(config: AutoEncoderConfig): number {
  return 2 ** (config.chMult.length - 1);
}

function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}

function fail(config: { name: string }, why: string): never {
  throw new FluxModelError('invalid_config', `config '${config.name}': ${why}`);
}

/** Checks the invariants the reference asserts at construction; throws `invalid_config` naming the field. */
export function validateFluxConfig(config: FluxConfig): FluxConfig {
  const integers: (keyof FluxConfig)[] = [
    'inChannels',
    'outChannels',
    'vecInDim',
    'contextInDim',
    'hiddenSize',
    'numHeads',
    'depth',
    'depthSingleBlocks',
    'timestepEmbedDim',
  ];
  for (const field of integers) {
    const value = config[field] as number;
    if (!isPositiveInteger(value)) fail(config, `${field} must be a positive integer, got ${value}`);
  }
  if (config.hiddenSize % config.numHeads !== 0) {
    fail(config, `hiddenSize ${config.hiddenSize} must be divisible by numHeads ${config.numHeads}`);
  }
  const pe = headDim(config);
  const axesSum = config.axesDim.reduce((a, b) => a + b, 0);
  if (config.axesDim.length !== 3 || axesSum !== pe) {
    fail(config, `axesDim [${config.axesDim}] must be 3 axes summing to the head dimension ${pe}`);
  }
  if (config.axesDim.some((d) => !isPositiveInteger(d) || d % 2 !== 0)) {
    fail(config, `every RoPE axis width must be a positive even integer, got [${config.axesDim}]`);
  }
  if (config.timestepEmbedDim % 2 !== 0) {
    fail(config, `timestepEmbedDim must be even, got ${config.timestepEmbedDim}`);
  }
  if (!(config.mlpRatio > 0) || !isPositiveInteger(mlpHiddenDim(config))) {
    fail(config, `mlpRatio must give a positive MLP width, got ${config.mlpRatio}`);
  }
  if (!(config.theta > 0)) fail(config, `theta must be positive, got ${config.theta}`);
  // The feature maps are unpacked as (c ph pw) with ph = pw = 2.
  if (config.inChannels % 4 !== 0 || config.hiddenSize % 4 !== 0) {
    fail(config, 'inChannels and hiddenSize must be divisible by 4 (2x2 token packing)');
  }
  return config;
}

export function validateAutoEncoderConfig(config: AutoEncoderConfig): AutoEncoderConfig {
  const integers: (keyof AutoEncoderConfig)[] = [
    'resolution',
    'inChannels',
    'ch',
    'outCh',
    'numResBlocks',
    'zChannels',
    'normGroups',
  ];
  for (const field of integers) {
    const value = config[field] as number;
    if (!isPositiveInteger(value)) fail(config, `${field} must be a positive integer, got ${value}`);
  }
  if (config.chMult.length === 0 || config.chMult.some((m) => !isPositiveInteger(m))) {
    fail(config, `chMult must be a non-empty list of positive integers, got [${config.chMult}]`);
  }
  for (const m of config.chMult) {
    if ((config.ch * m) % config.normGroups !== 0) {
      fail(config, `channels ${config.ch * m} are not divisible by normGroups ${config.normGroups}`);
    }
  }
  if (!(config.scaleFactor > 0)) fail(config, `scaleFactor must be positive, got ${config.scaleFactor}`);
  if (!Number.isFinite(config.shiftFactor)) fail(config, 'shiftFactor must be finite');
  return config;
}
