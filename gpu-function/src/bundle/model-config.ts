import { z } from 'zod';
import { validateAutoEncoderConfig, validateFluxConfig } from '../flux/config.ts';

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
