import { z } from 'zod';
import { autoEncoderDownscale, validateAutoEncoderConfig, validateFluxConfig } from '../flux/config.ts';
import type { TokenGrid } from '../flux/transformer.ts';
import { validateClipTextConfig, validateT5Config } from '../text/config.ts';

/**
 * The manifest's `config`: the model a bundle's graphs were built for, typed so a runtime can
 * build feeds and further graphs without guessing from the model's name.
 */
const count = z.number().int().positive();

const fluxConfig = z.strictObject({
  name: z.string().min(1),
  inChannels: count,
  outChannels: count,
  vecInDim: count,
  contextInDim: count,
  hiddenSize: count,
  mlpRatio: z.number().positive(),
  numHeads: count,
  depth: count,
  depthSingleBlocks: z.number().int().nonnegative(),
  axesDim: z.array(count).length(3),
  theta: z.number().positive(),
  qkvBias: z.boolean(),
  guidanceEmbed: z.boolean(),
  timestepEmbedDim: count,
});

const learnedAutoEncoder = z.strictObject({
  name: z.string().min(1),
  resolution: count,
  inChannels: count,
  ch: count,
  outCh: count,
  chMult: z.array(count).min(1),
  numResBlocks: count,
  zChannels: count,
  scaleFactor: z.number().positive(),
  shiftFactor: z.number(),
  normGroups: count,
});

/** The demo bundle's exact patch transform (bundle/demo-vae.ts). */
const patchAutoEncoder = z.strictObject({
  name: z.literal('demo-orthonormal-patch'),
  patch: count,
  zChannels: count,
  scaleFactor: z.number().positive(),
  shiftFactor: z.number(),
});

export const bundleConfigSchema = z
  .strictObject({
    transformer: fluxConfig,
    autoencoder: z.union([learnedAutoEncoder, patchAutoEncoder]),
    /** The token grid the bundled graphs were built for (image = 16 x tokens per side). */
    graph_grid: z.strictObject({ batch: count, height: count, width: count, textTokens: count }),
    image_size: z.strictObject({ height: count, width: count }).optional(),
  })
  .superRefine((config, ctx) => {
    // The flux module's own invariants (head split, RoPE axes, norm groups) name the field at fault.
    try {
      validateFluxConfig(config.transformer);
      if ('chMult' in config.autoencoder) validateAutoEncoderConfig(config.autoencoder);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
    if (config.transformer.inChannels !== 4 * config.autoencoder.zChannels) {
      ctx.addIssue({
        code: 'custom',
        path: ['transformer', 'inChannels'],
        message: `${config.transformer.inChannels} must be 4 x the autoencoder's ${config.autoencoder.zChannels} latent channels (2x2 packing)`,
      });
    }
  });

export type BundleConfig = z.infer<typeof bundleConfigSchema>;

/** Image pixels per latent pixel: the demo's patch size, or the autoencoder's down-scaling. */
export function latentScaleOf(autoencoder: BundleConfig['autoencoder']): number {
  return 'patch' in autoencoder ? autoencoder.patch : autoEncoderDownscale(autoencoder);
}

/** The token grid of a working image (2x2 latent pixels per token) with the bundle's text tokens. */
export function workingGrid(config: BundleConfig, image: { width: number; height: number }): TokenGrid {
  const latentScale = latentScaleOf(config.autoencoder);
  return {
    batch: 1,
    height: image.height / (2 * latentScale),
    width: image.width / (2 * latentScale),
    textTokens: config.graph_grid.textTokens,
  };
}

const t5Config = z.strictObject({
  name: z.string().min(1),
  vocabSize: count,
  dModel: count,
  dKv: count,
  numHeads: count,
  dFf: count,
  numLayers: count,
  relativeAttentionNumBuckets: count,
  relativeAttentionMaxDistance: count,
  layerNormEpsilon: z.number().positive(),
});

const clipTextConfig = z.strictObject({
  name: z.string().min(1),
  vocabSize: count,
  hiddenSize: count,
  intermediateSize: count,
  numLayers: count,
  numHeads: count,
  maxPositionEmbeddings: count,
  layerNormEpsilon: z.number().positive(),
  eosTokenId: z.number().int().nonnegative(),
});

/** An encoder's licence (T5: Apache-2.0, CLIP: MIT), which differs from the transformer's. */
const componentLicence = z
  .strictObject({
    id: z.string().min(1).max(128),
    commercial_use: z.boolean(),
    url: z.url().optional(),
    text: z.string().min(1).max(4096).optional(),
  })
  .refine((l) => l.url !== undefined || l.text !== undefined, { message: 'a licence needs a url or a text' });

const encoder = <T extends z.ZodType>(config: T) =>
  z.strictObject({
    config,
    /** Padded token count of the tokenizer and of the graph's input (T5: the transformer's text tokens). */
    max_tokens: count,
    /** The graph that runs it (in `graphs`). */
    graph: z.string().min(1),
    licence: componentLicence,
  });

/** The manifest's `text_encoders`: what encodes prompts into `txt` (T5) and `y` (CLIP). */
export const textEncodersSchema = z
  .strictObject({
    t5: encoder(t5Config),
    clip: encoder(clipTextConfig),
    /** Bundle-relative tokenizer files (tokenizer/ for CLIP, tokenizer_2/ for T5), each in `files`. */
    tokenizer_files: z.array(z.string().min(1).max(255)).min(1).max(16),
  })
  .superRefine((text, ctx) => {
    try {
      validateT5Config(text.t5.config);
      validateClipTextConfig(text.clip.config);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

export type TextEncodersEntry = z.infer<typeof textEncodersSchema>;
