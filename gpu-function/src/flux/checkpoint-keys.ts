/**
 * Every tensor name and shape of the single-file checkpoints `flux1-dev.safetensors` /
 * `flux1-schnell.safetensors` (transformer) and `ae.safetensors` (autoencoder), derived from a
 * config by walking the module tree of the reference architecture. Shapes follow torch:
 * Linear weight [out, in], Conv2d weight [out, in, kh, kw].
 */
import {
  type AutoEncoderConfig,
  type FluxConfig,
  headDim,
  mlpHiddenDim,
  validateAutoEncoderConfig,
  validateFluxConfig,
} from './config.ts';

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

function linear(prefix: string, inDim: number, outDim: number, bias = true): ParamSpec[] {
  const weight = { name: `${prefix}.weight`, shape: [outDim, inDim] };
  return bias ? [weight, { name: `${prefix}.bias`, shape: [outDim] }] : [weight];
}

function conv2d(prefix: string, inCh: number, outCh: number, kernel: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [outCh, inCh, kernel, kernel] },
    { name: `${prefix}.bias`, shape: [outCh] },
  ];
}

/** GroupNorm with affine parameters: the checkpoint names them weight / bias. */
function groupNorm(prefix: string, channels: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [channels] },
    { name: `${prefix}.bias`, shape: [channels] },
  ];
}

// ---- transformer -------------------------------------------------------------------------------

function mlpEmbedder(prefix: string, inDim: number, hidden: number): ParamSpec[] {
  return [...linear(`${prefix}.in_layer`, inDim, hidden), ...linear(`${prefix}.out_layer`, hidden, hidden)];
}

/** RMSNorm over one head's channels; its only parameter is called `scale`. */
function qkNorm(prefix: string, dim: number): ParamSpec[] {
  return [
    { name: `${prefix}.query_norm.scale`, shape: [dim] },
    { name: `${prefix}.key_norm.scale`, shape: [dim] },
  ];
}

function modulation(prefix: string, hidden: number, double: boolean): ParamSpec[] {
  return linear(`${prefix}.lin`, hidden, (double ? 6 : 3) * hidden);
}

function selfAttention(prefix: string, config: FluxConfig): ParamSpec[] {
  const h = config.hiddenSize;
  return [
    ...linear(`${prefix}.qkv`, h, 3 * h, config.qkvBias),
    ...qkNorm(`${prefix}.norm`, headDim(config)),
    ...linear(`${prefix}.proj`, h, h),
  ];
}

/** nn.Sequential(Linear, GELU, Linear): the GELU at index 1 has no parameters. */
function mlp(prefix: string, config: FluxConfig): ParamSpec[] {
  const h = config.hiddenSize;
  const m = mlpHiddenDim(config);
  return [...linear(`${prefix}.0`, h, m), ...linear(`${prefix}.2`, m, h)];
}

function doubleStreamBlock(prefix: string, config: FluxConfig): ParamSpec[] {
  const stream = (name: 'img' | 'txt') => [
    ...modulation(`${prefix}.${name}_mod`, config.hiddenSize, true),
    ...selfAttention(`${prefix}.${name}_attn`, config),
    ...mlp(`${prefix}.${name}_mlp`, config),
  ];
  return [...stream('img'), ...stream('txt')];
}

function singleStreamBlock(prefix: string, config: FluxConfig): ParamSpec[] {
  const h = config.hiddenSize;
  const m = mlpHiddenDim(config);
  return [
    ...linear(`${prefix}.linear1`, h, 3 * h + m),
    ...linear(`${prefix}.linear2`, h + m, h),
    ...qkNorm(`${prefix}.norm`, headDim(config)),
    ...modulation(`${prefix}.modulation`, h, false),
  ];
}

/** adaLN_modulation is nn.Sequential(SiLU, Linear): the Linear sits at index 1. */
function lastLayer(prefix: string, config: FluxConfig): ParamSpec[] {
  const h = config.hiddenSize;
  return [
    ...linear(`${prefix}.linear`, h, config.outChannels),
    ...linear(`${prefix}.adaLN_modulation.1`, h, 2 * h),
  ];
}

/** All transformer parameters, in module order. */
export function fluxCheckpointKeys(config: FluxConfig): ParamSpec[] {
  validateFluxConfig(config);
  const h = config.hiddenSize;
  const specs: ParamSpec[] = [
    ...linear('img_in', config.inChannels, h),
    ...mlpEmbedder('time_in', config.timestepEmbedDim, h),
    ...mlpEmbedder('vector_in', config.vecInDim, h),
    ...(config.guidanceEmbed ? mlpEmbedder('guidance_in', config.timestepEmbedDim, h) : []),
    ...linear('txt_in', config.contextInDim, h),
  ];
  for (let i = 0; i < config.depth; i++) specs.push(...doubleStreamBlock(`double_blocks.${i}`, config));
  for (let i = 0; i < config.depthSingleBlocks; i++) {
    specs.push(...singleStreamBlock(`single_blocks.${i}`, config));
  }
  specs.push(...lastLayer('final_layer', config));
  return specs;
}

// ---- autoencoder -------------------------------------------------------------------------------

function resnetBlock(prefix: string, inCh: number, outCh: number): ParamSpec[] {
  return [
    ...groupNorm(`${prefix}.norm1`, inCh),
    ...conv2d(`${prefix}.conv1`, inCh, outCh, 3),
    ...groupNorm(`${prefix}.norm2`, outCh),
    ...conv2d(`${prefix}.conv2`, outCh, outCh, 3),
    ...(inCh !== outCh ? conv2d(`${prefix}.nin_shortcut`, inCh, outCh, 1) : []),
  ];
}

/** The reference projects q, k, v and the output with 1x1 Conv2d, so the weights are [C, C, 1, 1]. */
function attnBlock(prefix: string, channels: number): ParamSpec[] {
  return [
    ...groupNorm(`${prefix}.norm`, channels),
    ...conv2d(`${prefix}.q`, channels, channels, 1),
    ...conv2d(`${prefix}.k`, channels, channels, 1),
    ...conv2d(`${prefix}.v`, channels, channels, 1),
    ...conv2d(`${prefix}.proj_out`, channels, channels, 1),
  ];
}

function midBlock(prefix: string, channels: number): ParamSpec[] {
  return [
    ...resnetBlock(`${prefix}.block_1`, channels, channels),
    ...attnBlock(`${prefix}.attn_1`, channels),
    ...resnetBlock(`${prefix}.block_2`, channels, channels),
  ];
}

function encoder(config: AutoEncoderConfig): ParamSpec[] {
  const { ch, chMult, numResBlocks } = config;
  const specs = conv2d('encoder.conv_in', config.inChannels, ch, 3);
  let blockIn = ch;
  chMult.forEach((mult, level) => {
    const blockOut = ch * mult;
    for (let j = 0; j < numResBlocks; j++) {
      specs.push(...resnetBlock(`encoder.down.${level}.block.${j}`, blockIn, blockOut));
      blockIn = blockOut;
    }
    // Downsample: stride-2 3x3 conv after asymmetric (0,1,0,1) zero padding; none after the last level.
    if (level !== chMult.length - 1)
      specs.push(...conv2d(`encoder.down.${level}.downsample.conv`, blockIn, blockIn, 3));
  });
  specs.push(
    ...midBlock('encoder.mid', blockIn),
    ...groupNorm('encoder.norm_out', blockIn),
    // Mean and log-variance of the diagonal Gaussian.
    ...conv2d('encoder.conv_out', blockIn, 2 * config.zChannels, 3),
  );
  return specs;
}

function decoder(config: AutoEncoderConfig): ParamSpec[] {
  const { ch, chMult, numResBlocks } = config;
  const levels = chMult.length;
  let blockIn = ch * chMult[levels - 1]!;
  const specs = [
    ...conv2d('decoder.conv_in', config.zChannels, blockIn, 3),
    ...midBlock('decoder.mid', blockIn),
  ];
  // The decoder runs from the deepest level up, but `up.i` keeps the encoder's level numbering.
  for (let level = levels - 1; level >= 0; level--) {
    const blockOut = ch * chMult[level]!;
    for (let j = 0; j < numResBlocks + 1; j++) {
      specs.push(...resnetBlock(`decoder.up.${level}.block.${j}`, blockIn, blockOut));
      blockIn = blockOut;
    }
    if (level !== 0) specs.push(...conv2d(`decoder.up.${level}.upsample.conv`, blockIn, blockIn, 3));
  }
  specs.push(
    ...groupNorm('decoder.norm_out', blockIn),
    ...conv2d('decoder.conv_out', blockIn, config.outCh, 3),
  );
  return specs;
}

/** All autoencoder parameters: encoder then decoder, each in module order. */
export function autoEncoderCheckpointKeys(config: AutoEncoderConfig): ParamSpec[] {
  validateAutoEncoderConfig(config);
  return [...encoder(config), ...decoder(config)];
}

export function parameterCount(specs: readonly ParamSpec[]): number {
  let total = 0;
  for (const spec of specs) total += spec.shape.reduce((a, b) => a * b, 1);
  return total;
}
