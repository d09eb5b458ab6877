/**
 * DragFlow's hyperparameters (arXiv 2510.02253 and facts read from its reference code,
 * Edennnnnnnnnn/DragFlow: framework/config.yaml, dragger.py, hookhub.py).
 *
 * A preset fills every tunable option; request options override single values. Where the
 * paper and the reference code differ, the difference is an option and the two presets pick
 * each side: `paper` (the default) follows the paper, `reference_code` follows the code. Where the
 * paper is silent, both follow the code. Each value below says where it comes from: "paper" (the
 * paper's text), "code" (the reference code, file and name), "ours" (a service choice, not the
 * method's). `fast` is NOT the paper's method settings: a shorter schedule and fewer drag iterations
 * (about 40% of the paper's transformer calls) for quick tries; expect weaker moves and more
 * artefacts. `METHOD` holds the values that are fixed by the method and the FLUX.1 architecture.
 */
import type { EditOptions } from './options.ts';

export const PRESET_NAMES = ['paper', 'reference_code', 'fast'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
export const DEFAULT_PRESET: PresetName = 'paper';

export const OUTPUT_FORMATS = ['png', 'webp', 'jpeg'] as const;

/**
 * Which latent fills the protected background after each update (z_bg): the reconstruction-path
 * latent at the edit time, i.e. the inverted latent itself (paper), or the inverted latent advanced
 * half a denoising step with its velocity at the edit guidance (reference code).
 */
export const BACKGROUND_LATENTS = ['reconstruction', 'half_step'] as const;

/**
 * Which captured K/V set each sampling call injects. Inversion (N FireFlow steps) captures sets
 * 0..N, set 0 at t = 0 and set k >= 1 at the midpoint of inversion step k - 1. Sampling retraces
 * the steps downwards: call 0 is step 0's start velocity, call k >= 1 the midpoint of step k - 1.
 * - `reference_code`: call k takes set N - k, so sampling step r's midpoint takes set N - 1 - r and
 *   the last step the set captured at t = 0 (the code's countdown: hookhub.py countdown_hooks,
 *   called before each step after the first and after step 0's start calls, dragger.py).
 * - `same_time`: call k >= 1 takes set N + 1 - k, the one captured at the same time (the midpoint
 *   of the inversion step it retraces); set 0 is never used.
 * Both give call 0 (and every drag optimisation pass) the last set, N.
 */
export const KV_PAIRINGS = ['reference_code', 'same_time'] as const;

/** Every option a request may set, all present. */
export type Settings = Required<Omit<EditOptions, 'preset'>>;

const PAPER: Settings = {
  // ours: no step of the pipeline draws random numbers (the code seeds everything with 42, config.yaml).
  seed: 0,
  // paper; code config.yaml inversion_step_num, sampling_step_num.
  steps: 25,
  // code config.yaml skip_step_num: the edit happens at timesteps[6].
  skip_steps: 6,
  // paper (K = 50); code config.yaml max_dragging_num.
  transport_iterations: 50,
  // paper; code config.yaml max_intensify_num.
  intensify_iterations: 20,
  // paper; code config.yaml lr.
  transport_lr: 1000,
  // paper. The code resets lr to 1000 for intensify (dragger.py): reference_code.
  intensify_lr: 1200,
  // paper; code config.yaml inversion_guidance_scale (inversion and the reconstruction branch).
  inversion_guidance: 1.0,
  // paper; code config.yaml sampling_guidance_scale (drag passes, the edit branch, z_bg's velocity).
  edit_guidance: 3.5,
  // paper; code config.yaml use_adapter.
  adapter: true,
  // code config.yaml adapter_subject_scale.
  adapter_scale: 1.5,
  // paper (the 17th and 18th double blocks); code config.yaml target_block_feature_ids_flux.
  feature_blocks: [17, 18],
  // code hookhub.py 'non-ridge' (config.yaml hook_block_combo); the paper names no blocks.
  kv_double_blocks: [0, 7, 8, 9, 10, 18],
  kv_single_blocks: [6, 9, 18, 23, 26, 31, 37],
  // code (see KV_PAIRINGS); the paper says only "in reverse order of capture".
  kv_pairing: 'reference_code',
  // paper: the reconstruction-path latent. The code's half step: reference_code.
  background_latent: 'reconstruction',
  // ours, beyond the paper: paste the original pixels back outside B so the background is exact.
  background_compositing: true,
  // ours (service output).
  output_format: 'png',
  output_quality: 95,
  preview_interval: 0,
  output_metrics: false,
  // Beyond the paper: with drags, B stays inside editable_mask (the contract: "the rest is kept").
  grow_editable_mask: false,
};

export const PRESETS: Readonly<Record<PresetName, Readonly<Settings>>> = {
  paper: PAPER,
  reference_code: {
    ...PAPER,
    // code dragger.py dragger_step: lr = 1000.0 when the stage is INTENSIFY.
    intensify_lr: 1000,
    // code dragger.py dragger_step: z_orig advanced half a step with its velocity at
    // sampling_guidance_scale (edit_guidance), target prompt, last K/V set.
    background_latent: 'half_step',
  },
  // ours: edit time at the same schedule fraction as the paper (skip 3 of 12 ~ 6 of 25); 53
  // transformer calls instead of 131.
  fast: { ...PAPER, steps: 12, skip_steps: 3, transport_iterations: 16, intensify_iterations: 6 },
};

/** Values fixed by the method and by FLUX.1; not options. */
export const METHOD = {
  /** Image sides are floored to a multiple of this (VAE /8 and 2x2 latent packing). */
  imageSideMultiple: 16,
  /** Shifted schedule: t' = e^mu / (e^mu + 1/t - 1), mu linear in the image token count. */
  scheduleShift: { minTokens: 256, minMu: 0.5, maxTokens: 4096, maxMu: 1.15 },
  inversionSolver: 'fireflow',
  /** T5 prompt length in tokens (reference code). */
  maxTextTokens: 256,
  /** Both taps of every feature block: the image stream after norm1 modulation, and the block output. */
  featureTaps: ['attention_input', 'block_output'],
  /**
   * Features, unpacked to the latent's size, are resized bilinearly to the working image size in
   * pixels / divisor (code dragger.py cut_shape = full_shape // scale_level), divisor by the mean side.
   */
  featureDownscale: [
    { maxMeanSide: 600, divisor: 2 },
    { maxMeanSide: 1000, divisor: 3 },
    { maxMeanSide: Number.POSITIVE_INFINITY, divisor: 4 },
  ],
  /** L1 over all feature elements (the reference code does not divide by the mask area). */
  loss: 'l1_mean_all_elements',
  /** Warped masks and the editable mask are binarised at this threshold. */
  maskThreshold: 0.5,
  /**
   * Warps (reference code, dragger.py and dragger_utils.py grid_sample): features repeat the border,
   * masks (p and the moved region of B) read zeros outside the image, so a region leaving the image
   * is dropped there.
   */
  warp: { interpolation: 'bilinear', featurePadding: 'border', maskPadding: 'zeros' },
  /** w_i = clamp(base + numerator / (S_i + offset), min, max), S_i = mask area fraction; gamma_i = w_i / sum w. */
  regionWeight: { base: 1, numerator: 0.5, offset: 0.1, min: 1, max: 5 },
  /** Injected K/V fully replace the live ones (eta = 0) at every timestep. */
  kvInjectionEta: 0,
  /** The adapter sees the whole source image padded to a square. */
  adapterReference: 'padded_square',
} as const;

/** The feature resize divisor for an image of the given size. */
export function featureDownscale(width: number, height: number): number {
  const meanSide = (width + height) / 2;
  const rule = METHOD.featureDownscale.find((entry) => meanSide <= entry.maxMeanSide);
  return rule!.divisor;
}

/** Full settings: the named preset (default `paper`) overridden by the given options. */
export function resolveSettings(options: EditOptions = {}): Settings {
  const { preset = DEFAULT_PRESET, ...overrides } = options;
  const settings = { ...PRESETS[preset] } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) settings[key] = value;
  }
  return settings as Settings;
}
