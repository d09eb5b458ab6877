/**
 * The work plan of an edit, decided before any model work: which part of the photo the model sees
 * (the crop), at which size (the working size), and what that will cost (peak memory, time), checked
 * against a budget. The CLI and the server both call this module, so a request is sized and refused
 * the same way everywhere.
 *
 *   const plan = planWorkingSize({ image, editable: B, settings, manifest, regions });
 *   const refusal = checkBudget(plan, budget);   // a contract error (code over_budget) or null
 *
 * Working size: the model runs on at most `maxWorkingPixels` pixels (default per model:
 * DEFAULT_WORKING_PIXELS), sides multiples of 16 (VAE /8 and 2x2 packing). A photo within that
 * edits whole, resized to the nearest multiples of 16 (no pixel dropped). A larger photo is cropped
 * around B: the largest window of `maxWorkingPixels` at full resolution around B plus CONTEXT
 * (the model sees as much of the scene as the working size allows), or, when B plus its context is
 * itself larger, that box shrunk to the working size. Either way the result goes back into the
 * full-resolution original (pipeline/working-image.ts, dragflow/composite.ts) and every pixel
 * outside B keeps its exact input samples.
 *
 * Estimate: from the working size, the model config and the settings, before anything runs.
 * - Transformer calls and forward-pass equivalents are counted exactly (same rules as metrics.ts).
 * - Peak memory = runtime base + stored weights + the K/V cache (exact, kv-cache.ts) + a per-token
 *   term (activations, latents) + a per-attention-score term (scores the attention of the blocks
 *   the drag step runs through materialises) + copies of one supervision map (F0, the targets and
 *   masks on the host; features, terms and their gradients in the drag step: flux/features.ts
 *   featureMapBytes). The coefficients are fitted by `npm run bench:calibrate` on short CPU edits of
 *   the demo bundle (see `memoryTerms`); for FLUX.1 they are the same structural rule, not a
 *   measurement.
 * - Time = fixed setup + forward-pass equivalents x FLOPs per forward / device FLOP rate + the drag
 *   steps' work on the supervision maps (map elements x drag calls / a per-element rate), fitted the
 *   same way.
 * `CostProfile` holds the device's constants; CPU_PROFILE is the only measured one (a GPU
 * profile needs the same calibration on a GPU; see the pipeline README).
 */

import { totalmem } from 'node:os';
import { type ContractError, contractError } from '@dragflow/shared/errors';
import type { Settings } from '@dragflow/shared/presets';
import { type BundleConfig, workingGrid } from '../bundle/model-config.ts';
import type { Size } from '../dragflow/geometry.ts';
import type { FluxConfig } from '../flux/config.ts';
import { featureMapBytes, featureMapSize } from '../flux/features.ts';
import type { BinaryMask } from '../image/binary-mask.ts';
import { kvBytesPerEdit } from './kv-cache.ts';
import { trunkFraction } from './metrics.ts';
import { modelBlocks } from './model-blocks.ts';

export interface Rect extends Size {
  x: number;
  y: number;
}

/** Default most pixels the model works on, by model name; other models get DEFAULT_WORKING_PIXELS.other. */
export const DEFAULT_WORKING_PIXELS = {
  /** FLUX.1 is trained around one megapixel. */
  'flux1-dev': 1024 * 1024,
  'flux1-schnell': 1024 * 1024,
  /** The demo and test bundles: 512x512 takes about 3.2 GB and a minute per edit (paper preset, 2 idle CPU cores). */
  other: 512 * 512,
} as const;

/** Accepted range of `maxWorkingPixels`: the contract's smallest image up to its largest. */
export const WORKING_PIXELS_RANGE = { min: 64 * 64, max: 2048 * 1024 } as const;

/** Context kept around B when cropping: this share of B's longer side, at least CONTEXT_MIN_PX, on each side. */
export const CONTEXT_SHARE = 0.5;
export const CONTEXT_MIN_PX = 64;

const SIDE_MULTIPLE = 16;

export interface CostProfile {
  name: string;
  /** Process and runtime memory before any tensor (Node, onnxruntime, graphs). */
  baseBytes: number;
  /** Bytes per image-plus-text token per unit of the transformer's hidden size. */
  bytesPerTokenHidden: number;
  /** Live float32 attention score matrices per block the drag step runs through. */
  scoreMatricesPerBlock: number;
  /** Live copies of one float32 supervision map (featureMapBytes). */
  supervisionMapCopies: number;
  /** Sustained FLOP rate of the transformer calls. */
  flops: number;
  /** Supervision-map elements per second a drag step works through (resize, loss, gradient). */
  mapElementsPerSecond: number;
  /** Graph build and session opening. */
  setupSeconds: number;
}

/**
 * onnxruntime's CPU provider on this project's 2-core machine: fitted by `npm run bench:calibrate`
 * (gpu-function/bench/calibrate.ts) on an idle machine, 9 sizes from 128x128 to 1024x1024: memory
 * within -9% (768x768) to +12% (1024x512) of the measured peak RSS, time within 30%; under load
 * edits take longer.
 */
export const CPU_PROFILE: CostProfile = Object.freeze({
  name: 'cpu',
  baseBytes: 221.3e6,
  // The fit leaves no per-token term beyond the scores and the maps on this runtime.
  bytesPerTokenHidden: 0,
  scoreMatricesPerBlock: 2.776,
  supervisionMapCopies: 9.981,
  flops: 101e9,
  mapElementsPerSecond: 1.51e9,
  setupSeconds: 3,
});

export interface EditEstimate {
  /** The CostProfile the figures come from. */
  profile: string;
  /** Image tokens of the working size (16x16 pixels each). */
  image_tokens: number;
  transformer_calls: number;
  forward_pass_equivalents: number;
  peak_memory_bytes: number;
  seconds: number;
}

export interface WorkPlan {
  image: Size;
  /** The part of the image the model sees, in image pixels. */
  crop: Rect;
  /** The crop's size for the model: multiples of 16, at most maxWorkingPixels pixels. */
  working: Size;
  maxWorkingPixels: number;
  estimate: EditEstimate;
}

export interface Budget {
  /** Peak memory an edit may need, in bytes. */
  memoryBytes: number;
  /** Time an edit may take, in seconds. */
  seconds: number;
}

/** Three quarters of this machine's memory, and an hour. */
export function defaultBudget(): Budget {
  return { memoryBytes: Math.floor(0.75 * totalmem()), seconds: 3600 };
}

export function defaultWorkingPixels(manifest: Pick<PlannedModel, 'model'>): number {
  const table: Record<string, number> = DEFAULT_WORKING_PIXELS;
  return table[manifest.model] ?? DEFAULT_WORKING_PIXELS.other;
}

/** The smallest rectangle holding every pixel of the mask; null when it is empty. */
export function maskBounds(mask: BinaryMask): Rect | null {
  let [x0, y0, x1, y1] = [mask.width, mask.height, -1, -1];
  for (let y = 0; y < mask.height; y++) {
    const row = y * mask.width;
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[row + x]) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

function floor16(side: number): number {
  return Math.floor(side / SIDE_MULTIPLE) * SIDE_MULTIPLE;
}

/** `side` rounded to the nearest multiple of 16, at least 16. */
function toMultiple(side: number): number {
  return Math.max(SIDE_MULTIPLE, Math.round(side / SIDE_MULTIPLE) * SIDE_MULTIPLE);
}

/**
 * The crop and working size for an image whose edit changes `box` (B's bounds; null: anywhere).
 * See the module comment for the rule.
 */
export function chooseCrop(image: Size, box: Rect | null, maxPixels: number): { crop: Rect; working: Size } {
  if (!(maxPixels >= WORKING_PIXELS_RANGE.min && maxPixels <= WORKING_PIXELS_RANGE.max)) {
    throw new RangeError(
      `maxWorkingPixels must be in [${WORKING_PIXELS_RANGE.min}, ${WORKING_PIXELS_RANGE.max}], got ${maxPixels}`,
    );
  }
  let crop: Rect = { x: 0, y: 0, width: image.width, height: image.height };
  if (image.width * image.height > maxPixels && box) {
    const margin = Math.max(CONTEXT_MIN_PX, Math.round(CONTEXT_SHARE * Math.max(box.width, box.height)));
    const x0 = Math.max(0, box.x - margin);
    const y0 = Math.max(0, box.y - margin);
    const need = {
      x: x0,
      y: y0,
      width: Math.min(image.width, box.x + box.width + margin) - x0,
      height: Math.min(image.height, box.y + box.height + margin) - y0,
    };
    // Grow the needed box to maxPixels with the image's aspect, as far as the image allows; sides
    // floored to 16 where that still holds the box, so a crop at full resolution needs no resize.
    const fit = (side: number, needed: number) => (floor16(side) >= needed ? floor16(side) : side);
    const aspectWidth = Math.round(Math.sqrt((maxPixels * image.width) / image.height));
    let width = fit(Math.max(need.width, Math.min(image.width, aspectWidth)), need.width);
    const height = fit(
      Math.max(need.height, Math.min(image.height, Math.floor(maxPixels / width))),
      need.height,
    );
    width = fit(Math.max(width, Math.min(image.width, Math.floor(maxPixels / height))), need.width);
    const centre = (start: number, length: number, size: number, full: number) =>
      Math.min(full - size, Math.max(0, Math.round(start + length / 2 - size / 2)));
    crop = {
      x: centre(need.x, need.width, width, image.width),
      y: centre(need.y, need.height, height, image.height),
      width,
      height,
    };
  }
  const scale = Math.min(1, Math.sqrt(maxPixels / (crop.width * crop.height)));
  const working = { width: toMultiple(crop.width * scale), height: toMultiple(crop.height * scale) };
  // Over the budget after rounding: take 16 off the side whose removal keeps the crop's aspect best.
  const aspect = crop.width / crop.height;
  while (working.width * working.height > maxPixels) {
    const narrower = Math.abs(Math.log((working.width - SIDE_MULTIPLE) / working.height / aspect));
    const shorter = Math.abs(Math.log(working.width / (working.height - SIDE_MULTIPLE) / aspect));
    if (narrower <= shorter && working.width > SIDE_MULTIPLE) working.width -= SIDE_MULTIPLE;
    else working.height -= SIDE_MULTIPLE;
  }
  return { crop, working };
}

/** FLOPs of one full transformer forward over `tokens` (image + text), per metrics.ts's rule. */
function forwardFlops(config: FluxConfig, tokens: number): number {
  const h = config.hiddenSize;
  const perToken = 2 * (4 + 2 * config.mlpRatio) * h * h + 4 * tokens * h;
  return (config.depth + config.depthSingleBlocks) * tokens * perToken;
}

/** Transformer calls of an edit by kind, counted as the pipeline makes them. */
export function predictedCalls(settings: Settings): {
  velocity: number;
  features: number;
  drag_step: number;
} {
  const solverCalls = settings.steps - settings.skip_steps + 1;
  const halfStep = settings.background_latent === 'half_step' ? 1 : 0;
  const transportOnly = settings.transport_iterations > 0 && settings.intensify_iterations === 0 ? 1 : 0;
  return {
    // Inversion, z_bg's half step, then the edit and reconstruction branches of sampling.
    velocity: solverCalls + halfStep + 2 * solverCalls,
    features: 1 + transportOnly,
    drag_step: settings.transport_iterations + settings.intensify_iterations,
  };
}

/** What the estimate reads from a bundle manifest. */
export interface PlannedModel {
  model: string;
  config: BundleConfig;
  weight_files: readonly { bytes: number }[];
}

/**
 * The estimate's structural terms for an edit at `working`: exact byte counts (weights, K/V cache)
 * and the quantities the CostProfile's coefficients multiply. bench/calibrate.ts fits those
 * coefficients on measured runs from the same terms.
 */
export function costTerms(
  manifest: Pick<PlannedModel, 'config' | 'weight_files'>,
  working: Size,
  settings: Settings,
) {
  const config = manifest.config.transformer;
  const grid = workingGrid(manifest.config, working);
  const imageTokens = grid.width * grid.height;
  const tokens = imageTokens + grid.textTokens;
  const blocks = modelBlocks(config, settings);
  const calls = predictedCalls(settings);
  const fraction = trunkFraction(config, blocks.taps);
  const forwardEquivalents = calls.velocity + fraction * (calls.features + 2 * calls.drag_step);
  const inversionSteps = settings.steps - settings.skip_steps;
  const dragBlocks = Math.max(...blocks.taps.map((t) => t.block)) + 1;
  const mapBytes = featureMapBytes(featureMapSize(working), blocks.taps.length, config);
  return {
    imageTokens,
    calls,
    forwardEquivalents,
    /** Bytes known exactly: stored weights and the K/V cache. */
    exactBytes:
      manifest.weight_files.reduce((sum, file) => sum + file.bytes, 0) +
      kvBytesPerEdit(config, grid, blocks.kv, inversionSteps),
    /** Multiplies bytesPerTokenHidden. */
    tokenHidden: config.hiddenSize * tokens,
    /** Multiplies scoreMatricesPerBlock: one float32 score matrix of every head, per drag block. */
    scoreBytes: config.numHeads * tokens * tokens * 4 * dragBlocks,
    /** Multiplies supervisionMapCopies. */
    mapBytes,
    /** FLOPs of the transformer calls (divided by flops). */
    transformerFlops: forwardEquivalents * forwardFlops(config, tokens),
    /** Map elements the drag steps work through (divided by mapElementsPerSecond). */
    dragMapElements: (calls.drag_step * mapBytes) / Float32Array.BYTES_PER_ELEMENT,
  };
}

export function estimateEdit(
  manifest: Pick<PlannedModel, 'config' | 'weight_files'>,
  working: Size,
  settings: Settings,
  profile: CostProfile = CPU_PROFILE,
): EditEstimate {
  const t = costTerms(manifest, working, settings);
  const peak =
    profile.baseBytes +
    t.exactBytes +
    profile.bytesPerTokenHidden * t.tokenHidden +
    profile.scoreMatricesPerBlock * t.scoreBytes +
    profile.supervisionMapCopies * t.mapBytes;
  return {
    profile: profile.name,
    image_tokens: t.imageTokens,
    transformer_calls: t.calls.velocity + t.calls.features + t.calls.drag_step,
    forward_pass_equivalents: t.forwardEquivalents,
    peak_memory_bytes: Math.round(peak),
    seconds:
      profile.setupSeconds +
      t.transformerFlops / profile.flops +
      t.dragMapElements / profile.mapElementsPerSecond,
  };
}

export interface PlanInput {
  image: Size;
  /** B at image size: what the edit may change. */
  editable: BinaryMask;
  settings: Settings;
  manifest: PlannedModel;
  /** Default: defaultWorkingPixels(manifest). */
  maxWorkingPixels?: number;
  costProfile?: CostProfile;
}

export function planWorkingSize(input: PlanInput): WorkPlan {
  const maxWorkingPixels = input.maxWorkingPixels ?? defaultWorkingPixels(input.manifest);
  const { crop, working } = chooseCrop(input.image, maskBounds(input.editable), maxWorkingPixels);
  return {
    image: { width: input.image.width, height: input.image.height },
    crop,
    working,
    maxWorkingPixels,
    estimate: estimateEdit(input.manifest, working, input.settings, input.costProfile),
  };
}

const GIB = 1024 ** 3;

function describeBytes(bytes: number): string {
  return `${(bytes / GIB).toFixed(2)} GiB`;
}

/** The refusal of a plan over budget (code over_budget), or null when it fits. */
export function checkBudget(plan: WorkPlan, budget: Budget): ContractError | null {
  const { estimate, working } = plan;
  const at = `at the working size ${working.width}x${working.height}`;
  if (estimate.peak_memory_bytes > budget.memoryBytes) {
    return contractError(
      'over_budget',
      ['image'],
      `the edit needs an estimated ${describeBytes(estimate.peak_memory_bytes)} of memory ${at}; the budget is ${describeBytes(budget.memoryBytes)}`,
    );
  }
  if (estimate.seconds > budget.seconds) {
    return contractError(
      'over_budget',
      ['image'],
      `the edit needs an estimated ${Math.ceil(estimate.seconds)} s ${at}; the budget is ${Math.floor(budget.seconds)} s`,
    );
  }
  return null;
}
