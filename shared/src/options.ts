/**
 * The `options` object of an edit request: a preset name and single overrides of its values.
 * Names match the keys of `Settings` in presets.ts, which a preset fills completely.
 */
import { z } from 'zod';
import { crossFieldCheck, report, reportDuplicates } from './issues.ts';
import { OPTION_RANGES, type Range } from './limits.ts';
import {
  BACKGROUND_LATENTS,
  DEFAULT_PRESET,
  KV_PAIRINGS,
  OUTPUT_FORMATS,
  PRESET_NAMES,
  PRESETS,
} from './presets.ts';

function integer(range: Range, description: string) {
  return z.number().int().min(range.min).max(range.max).meta({ description });
}

function real(range: Range, description: string) {
  return z.number().min(range.min).max(range.max).meta({ description });
}

/** A list of distinct block indices within `range`. */
function blockList(range: Range, minItems: number, description: string) {
  const count = range.max - range.min + 1;
  return z
    .array(z.number().int().min(range.min).max(range.max))
    .min(minItems)
    .max(count)
    .check((ctx) => reportDuplicates(ctx, 'block'))
    .meta({ description, uniqueItems: true });
}

export const EditOptionsSchema = z
  .strictObject({
    preset: z
      .enum(PRESET_NAMES)
      .meta({ description: `Hyperparameter set the other options override (default ${DEFAULT_PRESET}).` }),
    seed: integer(OPTION_RANGES.seed, 'Seed for every random choice of the pipeline.'),
    steps: integer(
      OPTION_RANGES.steps,
      'Length of the flow schedule; inversion and sampling each run steps - skip_steps.',
    ),
    skip_steps: integer(
      OPTION_RANGES.skipSteps,
      'Schedule steps skipped: the edit happens at timestep index skip_steps.',
    ),
    transport_iterations: integer(
      OPTION_RANGES.transportIterations,
      'Iterations moving regions with growing transforms.',
    ),
    intensify_iterations: integer(
      OPTION_RANGES.intensifyIterations,
      'Further iterations at the full transforms.',
    ),
    transport_lr: real(OPTION_RANGES.learningRate, 'Gradient-descent step size during transport.'),
    intensify_lr: real(
      OPTION_RANGES.learningRate,
      'Step size during intensify (paper 1200, reference code 1000).',
    ),
    inversion_guidance: real(
      OPTION_RANGES.guidance,
      'Distilled guidance while inverting and reconstructing.',
    ),
    edit_guidance: real(OPTION_RANGES.guidance, 'Distilled guidance while optimising and sampling the edit.'),
    adapter: z.boolean().meta({ description: 'Condition on the source image through the image adapter.' }),
    adapter_scale: real(OPTION_RANGES.adapterScale, 'Weight of the adapter attention.'),
    feature_blocks: blockList(OPTION_RANGES.doubleBlock, 1, 'Double blocks whose features are supervised.'),
    kv_double_blocks: blockList(OPTION_RANGES.doubleBlock, 0, 'Double blocks whose K/V are injected.'),
    kv_single_blocks: blockList(OPTION_RANGES.singleBlock, 0, 'Single blocks whose K/V are injected.'),
    kv_pairing: z.enum(KV_PAIRINGS).meta({
      description:
        'Inversion K/V set each sampling call injects: reference_code (step r takes the set one inversion call earlier than its own time, the last step the t = 0 set; both presets) or same_time (each call the set captured at its own time).',
    }),
    background_latent: z.enum(BACKGROUND_LATENTS).meta({
      description:
        'Latent kept outside the editable mask while optimising: reconstruction (paper: the inverted latent) or half_step (code: the inverted latent advanced half a step with its velocity at edit_guidance).',
    }),
    background_compositing: z
      .boolean()
      .meta({ description: 'Paste the original pixels outside the editable mask into the decoded result.' }),
    output_format: z.enum(OUTPUT_FORMATS).meta({ description: 'Encoding of the output image.' }),
    output_quality: integer(OPTION_RANGES.outputQuality, 'Encoder quality for jpeg and webp.'),
    grow_editable_mask: z.boolean().meta({
      description:
        'With drags: let the editable area B grow beyond editable_mask where the move needs it (default false: nothing outside editable_mask changes).',
    }),
    preview_interval: integer(
      OPTION_RANGES.previewInterval,
      'Send a preview every N iterations or steps; 0 = none.',
    ),
    output_metrics: z.boolean().meta({
      description: 'Also return the full per-edit metrics (losses, phase times, notes) as a JSON file.',
    }),
  })
  .partial()
  .check(
    crossFieldCheck((ctx) => {
      const preset = PRESETS[ctx.value.preset ?? DEFAULT_PRESET];
      const steps = ctx.value.steps ?? preset.steps;
      const skipSteps = ctx.value.skip_steps ?? preset.skip_steps;
      if (skipSteps >= steps) {
        report(ctx, 'out_of_range', ['skip_steps'], `must be less than steps (${steps}), got ${skipSteps}`);
      }
      const format = ctx.value.output_format ?? preset.output_format;
      if (ctx.value.output_quality !== undefined && format === 'png') {
        report(ctx, 'field_not_allowed', ['output_quality'], 'applies to jpeg and webp output only');
      }
    }),
  )
  .meta({ title: 'EditOptions', description: 'Preset and overrides; omitted values come from the preset.' });

export type EditOptions = z.infer<typeof EditOptionsSchema>;
