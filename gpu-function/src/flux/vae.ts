/**
 * The FLUX.1 autoencoder (AutoEncoder in the reference) as two graphs: the encoder
 * (image in [-1, 1] -> scaled latent) and the decoder (scaled latent -> image).
 * Params are bound by their ae.safetensors names.
 */
import { Graph, type Tensor } from '../graph/graph.ts';
import { autoEncoderCheckpointKeys } from './checkpoint-keys.ts';
import { type AutoEncoderConfig, autoEncoderDownscale, validateAutoEncoderConfig } from './config.ts';
import { FluxModelError } from './errors.ts';
import { mergeHeads, scaledDotProductAttention } from './layers.ts';
import { ParamBinder, type WeightOptions } from './param-binder.ts';
import { recordCompute } from './precision.ts';

/** Epsilon of every GroupNorm in the autoencoder. */
export const GROUP_NORM_EPSILON = 1e-6;
/** Largest image side a VAE graph may be built for, in pixels. */
export const MAX_IMAGE_SIDE = 4096;

function conv(
  p: ParamBinder,
  prefix: string,
  x: Tensor,
  options: { stride?: number; pads?: number[] } = {},
): Tensor {
  const weight = p.param(`${prefix}.weight`);
  const kernel = weight.shape[2]!;
  const pad = (kernel - 1) / 2;
  return p.graph.conv(x, weight, p.param(`${prefix}.bias`), {
    strides: [options.stride ?? 1, options.stride ?? 1],
    pads: options.pads ?? [pad, pad, pad, pad],
  });
}

function normalize(p: ParamBinder, prefix: string, x: Tensor, groups: number): Tensor {
  return p.graph.groupNorm(
    x,
    groups,
    p.param(`${prefix}.weight`),
    p.param(`${prefix}.bias`),
    GROUP_NORM_EPSILON,
  );
}

function resnetBlock(p: ParamBinder, prefix: string, x: Tensor, groups: number): Tensor {
  const g = p.graph;
  let h = conv(p, `${prefix}.conv1`, g.silu(normalize(p, `${prefix}.norm1`, x, groups)));
  h = conv(p, `${prefix}.conv2`, g.silu(normalize(p, `${prefix}.norm2`, h, groups)));
  const outChannels = h.shape[1]!;
  const shortcut = x.shape[1] === outChannels ? x : conv(p, `${prefix}.nin_shortcut`, x);
  return g.add(shortcut, h);
}

/** Single-head self-attention over pixels, projections as 1x1 convolutions. */
function attnBlock(p: ParamBinder, prefix: string, x: Tensor, groups: number): Tensor {
  const g = p.graph;
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const normed = normalize(p, `${prefix}.norm`, x, groups);
  // "b c h w -> b 1 (h w) c"
  const tokens = (t: Tensor) => g.unsqueeze(g.transpose(g.reshape(t, [b, c, h * w]), [0, 2, 1]), [1]);
  const q = tokens(conv(p, `${prefix}.q`, normed));
  const k = tokens(conv(p, `${prefix}.k`, normed));
  const v = tokens(conv(p, `${prefix}.v`, normed));
  const attended = g.reshape(g.transpose(mergeHeads(g, scaledDotProductAttention(g, q, k, v)), [0, 2, 1]), [
    b,
    c,
    h,
    w,
  ]);
  return g.add(x, conv(p, `${prefix}.proj_out`, attended));
}

function midBlock(p: ParamBinder, prefix: string, x: Tensor, groups: number): Tensor {
  const h = resnetBlock(p, `${prefix}.block_1`, x, groups);
  return resnetBlock(p, `${prefix}.block_2`, attnBlock(p, `${prefix}.attn_1`, h, groups), groups);
}

export interface VaeGraphOptions {
  readonly batch: number;
  /** Image size in pixels; both multiples of the downscale (8 for FLUX.1). */
  readonly height: number;
  readonly width: number;
  readonly weights?: WeightOptions;
}

function checkSize(config: AutoEncoderConfig, options: VaeGraphOptions): void {
  validateAutoEncoderConfig(config);
  const f = autoEncoderDownscale(config);
  for (const [what, value] of [
    ['height', options.height],
    ['width', options.width],
  ] as const) {
    if (!Number.isInteger(value) || value < f || value > MAX_IMAGE_SIDE || value % f !== 0) {
      throw new FluxModelError(
        'invalid_input_shape',
        `VAE ${what} ${value} must be a multiple of ${f} in [${f}, ${MAX_IMAGE_SIDE}]`,
      );
    }
  }
  if (!Number.isInteger(options.batch) || options.batch < 1 || options.batch > 8) {
    throw new FluxModelError(
      'invalid_input_shape',
      `VAE batch must be an integer in [1, 8], got ${options.batch}`,
    );
  }
}

export const vaeNames = { image: 'image', latent: 'latent' } as const;

/**
 * image [B, 3, H, W] in [-1, 1] -> latent [B, z, H/8, W/8] = (mean - shift) * scale.
 * Uses the posterior mean (the reference samples; its log-variance noise is left out so encoding is
 * deterministic).
 */
export function buildEncoderGraph(config: AutoEncoderConfig, options: VaeGraphOptions): Graph {
  checkSize(config, options);
  const g = new Graph(`${config.name}.encoder`);
  recordCompute(g, 'float32');
  const p = new ParamBinder(g, autoEncoderCheckpointKeys(config), options.weights);
  const groups = config.normGroups;
  const image = g.input(vaeNames.image, 'float32', [
    options.batch,
    config.inChannels,
    options.height,
    options.width,
  ]);
  let h = conv(p, 'encoder.conv_in', image);
  config.chMult.forEach((_, level) => {
    for (let j = 0; j < config.numResBlocks; j++)
      h = resnetBlock(p, `encoder.down.${level}.block.${j}`, h, groups);
    // Zero-pad right and bottom by one, then a stride-2 3x3 conv (the reference's asymmetric padding).
    if (level !== config.chMult.length - 1)
      h = conv(p, `encoder.down.${level}.downsample.conv`, h, { stride: 2, pads: [0, 0, 1, 1] });
  });
  h = midBlock(p, 'encoder.mid', h, groups);
  const moments = conv(p, 'encoder.conv_out', g.silu(normalize(p, 'encoder.norm_out', h, groups)));
  const [mean] = g.split(moments, [config.zChannels, config.zChannels], 1) as [Tensor, Tensor];
  g.output(vaeNames.latent, g.mul(g.sub(mean, config.shiftFactor), config.scaleFactor));
  return g;
}

/** latent [B, z, H/8, W/8] -> image [B, 3, H, W] (roughly [-1, 1]); inverts the latent scaling first. */
export function buildDecoderGraph(config: AutoEncoderConfig, options: VaeGraphOptions): Graph {
  checkSize(config, options);
  const g = new Graph(`${config.name}.decoder`);
  recordCompute(g, 'float32');
  const p = new ParamBinder(g, autoEncoderCheckpointKeys(config), options.weights);
  const groups = config.normGroups;
  const f = autoEncoderDownscale(config);
  const latent = g.input(vaeNames.latent, 'float32', [
    options.batch,
    config.zChannels,
    options.height / f,
    options.width / f,
  ]);
  let h = conv(p, 'decoder.conv_in', g.add(g.div(latent, config.scaleFactor), config.shiftFactor));
  h = midBlock(p, 'decoder.mid', h, groups);
  for (let level = config.chMult.length - 1; level >= 0; level--) {
    for (let j = 0; j < config.numResBlocks + 1; j++)
      h = resnetBlock(p, `decoder.up.${level}.block.${j}`, h, groups);
    if (level !== 0) {
      const [b, c, height, width] = h.shape as [number, number, number, number];
      // Nearest-neighbour x2 (source index = floor(dst / 2)), then a 3x3 conv.
      const upsampled = g.resize(h, [b, c, 2 * height, 2 * width], 'nearest', 'asymmetric');
      h = conv(p, `decoder.up.${level}.upsample.conv`, upsampled);
    }
  }
  g.output(vaeNames.image, conv(p, 'decoder.conv_out', g.silu(normalize(p, 'decoder.norm_out', h, groups))));
  return g;
}
