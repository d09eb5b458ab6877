/**
 * One DragFlow edit, end to end, as an explicit sequence of phases (shared/src/job.ts
 * PROGRESS_PHASES): preparing (validate, decode, operations, B, work plan and budget check,
 * working image, sessions, encode), inverting, transport, intensify, sampling, decoding, encoding.
 * Progress is reported per step with one overall percentage and time left (progress.ts); the
 * signal is checked before every transformer call; metrics come back with the image.
 *
 * The model works on the plan's working image (work-plan.ts: a crop around B at a bounded size);
 * an edit whose estimate is over the budget is refused (over_budget) before any model work. The
 * result is resized back to the crop and blended into the full-resolution original.
 *
 * Beyond the paper: with `background_compositing`, the output keeps the original samples outside
 * B (a FEATHER_WIDTH_PX seam inside B), so the background is exactly the input's, in the input's
 * own pixel layout (greyscale, alpha and 16-bit samples kept; image/pixel-layout.ts).
 */
import type { UrlPolicy } from '@dragflow/shared/https-url';
import type { Progress, ProgressPhase } from '@dragflow/shared/job';
import type { Limits } from '@dragflow/shared/limits';
import { featureDownscale } from '@dragflow/shared/presets';
import type * as ort from 'onnxruntime-node';
import { ensureDemoBundle } from '../bundle/demo.ts';
import { verifyBundle } from '../bundle/verify.ts';
import { compositeBackground, packedLatentMask } from '../dragflow/composite.ts';
import { dragSchedule } from '../dragflow/drag-schedule.ts';
import { optimisationKvSet } from '../dragflow/kv-order.ts';
import { validateOperation } from '../dragflow/operation.ts';
import { maskArea, resizeMask } from '../dragflow/region.ts';
import type { LoadImageBytes } from '../dragflow/request-operations.ts';
import { editTimesteps } from '../dragflow/schedule.ts';
import { featureMapBytes } from '../flux/features.ts';
import type { BinaryMask } from '../image/binary-mask.ts';
import { encodeImage, encodeSamples, type OutputFormat } from '../image/encode.ts';
import { describeLayout, formatLosses, isRgb8, type PixelLayout, RGB8 } from '../image/pixel-layout.ts';
import { backgroundLatent } from './background-latent.ts';
import type { Device } from './device.ts';
import { asRejection, EditRejected, rejection } from './errors.ts';
import { invert } from './invert.ts';
import { KvCache } from './kv-cache.ts';
import { packLatent, planesToRgb, rgbToPlanes, unpackLatent } from './latent.ts';
import { type EditMetrics, PhaseClock, peakRssBytes } from './metrics.ts';
import { EditModel } from './model.ts';
import { blockSettings } from './model-blocks.ts';
import type { ModelCache, OpenedBundle } from './model-cache.ts';
import { optimizeLatent } from './optimize.ts';
import { inlineImageLoader, prepareEdit } from './prepare.ts';
import { ProgressMeter } from './progress.ts';
import { PromptEncoder, releaseTextEncodersSetting } from './prompt-encoder.ts';
import { sampleEdit } from './sample.ts';
import { editText } from './text-conditioning.ts';
import {
  type Budget,
  type CostProfile,
  checkBudget,
  defaultBudget,
  planWorkingSize,
  type WorkPlan,
} from './work-plan.ts';
import { backToCrop, cropOf, workingMask, workingOperation, workingRgb } from './working-image.ts';

export interface ProgressEvent extends Progress {
  transformer_calls: number;
  /** The whole edit: share done (0..100) and estimated seconds left, null until known (progress.ts). */
  percent: number;
  seconds_left: number | null;
  /** PNG of the current latent decoded (every preview_interval iterations, when asked). */
  preview?: Uint8Array;
  /** Drag iterations where it is measured: the loss to the full transforms, before the update (optimize.ts). */
  full_transform_loss?: number;
}

export interface EditRunOptions {
  /** Model bundle folder; the embedded demo bundle when absent. */
  bundleDir?: string;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  limits?: Partial<Limits>;
  /** Reads the request's images (default: inline data URIs only). */
  load?: LoadImageBytes;
  /** Which image URLs the request may name (default https only; a server's local-dev switch widens it). */
  urlPolicy?: UrlPolicy;
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Where the model runs (default cpu; device.ts). */
  device?: Device;
  /** Keeps models open between edits (a worker's cache); without it the edit opens and releases its own. */
  models?: ModelCache;
  /**
   * Release the text encoders' memory right after the prompts are encoded (memory is short); they
   * reopen for the next edit's new prompts. Default: the DRAGFLOW_RELEASE_TEXT_ENCODERS setting.
   */
  releaseTextEncoders?: boolean;
  /** Most pixels the model works on (default per model, work-plan.ts defaultWorkingPixels). */
  maxWorkingPixels?: number;
  /** Refuse edits estimated over it (default: defaultBudget()). */
  budget?: Budget;
  /** Constants of the memory and time estimate (default: CPU_PROFILE, work-plan.ts). */
  costProfile?: CostProfile;
}

export interface EditResult {
  /** The edited image encoded as `format`, at the input's size and in its pixel layout where the format allows. */
  encoded: Uint8Array;
  format: OutputFormat;
  width: number;
  height: number;
  /** The edited image as 8-bit sRGB (alpha flattened onto white, as the model saw it). */
  rgb: Uint8Array;
  /** B at the input image's size. */
  editableMask: BinaryMask;
  /** The output's pixel layout: the input's (what `encoded` holds, as far as `format` allows). */
  layout: PixelLayout;
  plan: WorkPlan;
  metrics: EditMetrics;
}

async function openBundle(dir: string | undefined): Promise<OpenedBundle> {
  if (dir === undefined) return ensureDemoBundle();
  return { dir, manifest: await verifyBundle(dir, { depth: 'full' }) };
}

export async function runEdit(input: unknown, options: EditRunOptions = {}): Promise<EditResult> {
  const clock = new PhaseClock();
  let model: EditModel | undefined;
  // Replaced by the plan's meter once the plan is known; preparing is 0%, time left unknown.
  let meter = new ProgressMeter(1, null);
  const progress = (finished = false) => meter.at(model?.counter.forwardEquivalents ?? 0, finished);
  const report = (phase: ProgressPhase, step: number, total: number, loss: number | null = null) =>
    options.onProgress?.({
      phase,
      step,
      total,
      loss,
      transformer_calls: model?.counter.transformerCalls ?? 0,
      ...progress(phase === 'encoding' && step === total),
    });

  clock.enter('preparing');
  report('preparing', 0, 1);
  const prepared = await prepareEdit(
    input,
    options.load ?? inlineImageLoader(options.limits),
    options.limits,
    options.urlPolicy,
  );
  const { settings } = prepared;
  const bundle = await (options.models
    ? options.models.bundle(options.bundleDir ?? 'demo', () => openBundle(options.bundleDir))
    : openBundle(options.bundleDir));
  const plan = planWorkingSize({
    image: prepared.original,
    editable: prepared.editable,
    settings,
    manifest: bundle.manifest,
    ...(options.maxWorkingPixels === undefined ? {} : { maxWorkingPixels: options.maxWorkingPixels }),
    ...(options.costProfile ? { costProfile: options.costProfile } : {}),
  });
  const refusal = checkBudget(plan, options.budget ?? defaultBudget());
  if (refusal) throw new EditRejected([refusal]);
  meter = new ProgressMeter(plan.estimate.forward_pass_equivalents, plan.estimate.seconds);
  const { working, crop } = plan;
  const operations = [];
  for (const [index, op] of prepared.operations.entries()) {
    const moved = await workingOperation(op, plan);
    // A region may vanish when the working size is much smaller than the photo.
    const path = prepared.editableMask ? ['editable_mask'] : ['operations', index, 'source'];
    if (maskArea(moved.source) === 0) {
      const { width, height } = plan.working;
      throw rejection(
        'empty_region',
        path,
        `is too small to keep any pixel at the working size ${width}x${height} (the ${plan.crop.width}x${plan.crop.height} crop around the edit resized); select a larger region or raise the working size`,
      );
    }
    try {
      validateOperation(moved, path.slice(0, prepared.editableMask ? 1 : 2));
    } catch (error) {
      throw asRejection(error);
    }
    operations.push(moved);
  }
  const editable = await workingMask(prepared.editable, plan);
  const modelRgb = await workingRgb(prepared.original.rgb, prepared.original, plan);
  const modelOptions = {
    regions: operations.length,
    settings: blockSettings(settings),
    ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}),
    ...(options.device ? { device: options.device } : {}),
  };
  const open = () => EditModel.open(bundle.dir, bundle.manifest, working, modelOptions);
  const key = JSON.stringify({ bundle: bundle.manifest.manifest_sha256, working, ...modelOptions });
  const openEncoder = () =>
    PromptEncoder.open(
      bundle.dir,
      bundle.manifest,
      options.sessionOptions ? { sessionOptions: options.sessionOptions } : {},
    );
  const encoder = await (options.models
    ? options.models.promptEncoder(bundle.manifest.manifest_sha256, openEncoder)
    : openEncoder());
  model = await (options.models ? options.models.get(key, open) : open());
  model.beginEdit(options.signal);
  meter.start();
  try {
    const m = model;
    const { config } = m;
    const text = await editText(
      bundle.manifest,
      { source: prepared.prompts.background, target: prepared.prompts.target },
      { tokens: m.grid.textTokens, width: config.contextInDim, pooled: config.vecInDim },
      encoder,
      options.models?.prompts,
    );
    // Kept open for the next edit's prompts in a worker, unless memory is short.
    if (!options.models || (options.releaseTextEncoders ?? releaseTextEncodersSetting()))
      await encoder?.release();
    const latentSize = { width: working.width / m.latentScale, height: working.height / m.latentScale };
    const channels = m.latentChannels;
    const imageLatent = packLatent(await m.encode(rgbToPlanes(modelRgb, working)), channels, latentSize);
    const times = editTimesteps(m.grid.width * m.grid.height, settings.steps, settings.skip_steps);
    // B at latent resolution by the method's rule (bilinear, > 0.5), as gradient-mask.ts does for /8.
    const keep = packedLatentMask(resizeMask(editable, latentSize.width, latentSize.height), channels);
    const toRgb = async (packed: Float32Array) =>
      planesToRgb(await m.decode(unpackLatent(packed, channels, latentSize)), working);
    report('preparing', 1, 1);

    clock.enter('inverting');
    const cache = new KvCache(m.blocks.kv);
    const inverted = await invert({
      model: m,
      latent: imageLatent,
      times: times.inversion,
      guidance: settings.inversion_guidance,
      text: text.source,
      cache,
      onStep: (done, total) => report('inverting', done, total),
    });
    const kv = cache.inputs(optimisationKvSet(cache.calls));
    const background = await backgroundLatent({
      settings,
      inverted,
      denoising: times.denoising,
      // The drag passes' own inputs (reference code: the F0 forward pass gives this velocity).
      velocity: (z, t, guidance) => m.velocityInjected(z, t, guidance, text.target, kv),
    });

    const schedule = dragSchedule(settings);
    const transportTotal = settings.transport_iterations;
    const intensifyTotal = settings.intensify_iterations;
    clock.enter('transport');
    const {
      latent: optimised,
      supervisionBytes,
      losses,
      fullTransformLosses,
    } = await optimizeLatent({
      model: m,
      latent: inverted,
      background,
      keep,
      time: times.editTime,
      guidance: settings.edit_guidance,
      text: text.target,
      kv,
      operations,
      schedule,
      onIteration: async ({ iteration, loss, fullTransformLoss }, latent) => {
        const intensify = iteration.phase === 'intensify';
        if (intensify && iteration.iteration === transportTotal + 1) clock.enter('intensify');
        const step = intensify ? iteration.iteration - transportTotal : iteration.iteration;
        const event: ProgressEvent = {
          phase: iteration.phase,
          step,
          total: intensify ? intensifyTotal : transportTotal,
          loss,
          transformer_calls: m.counter.transformerCalls,
          ...progress(),
          ...(fullTransformLoss === undefined ? {} : { full_transform_loss: fullTransformLoss }),
        };
        if (settings.preview_interval > 0 && iteration.iteration % settings.preview_interval === 0) {
          event.preview = new Uint8Array(
            await encodeImage(await toRgb(latent), working.width, working.height, { format: 'png' }),
          );
        }
        options.onProgress?.(event);
      },
    });

    clock.enter('sampling');
    const sampled = await sampleEdit({
      model: m,
      edit: optimised,
      reconstruction: inverted,
      times: times.denoising,
      keep,
      cache,
      kvPairing: settings.kv_pairing,
      editGuidance: settings.edit_guidance,
      reconstructionGuidance: settings.inversion_guidance,
      text: text.target,
      onStep: (done, total) => report('sampling', done, total),
    });

    clock.enter('decoding');
    report('decoding', 0, 1);
    const edited = await toRgb(sampled);
    report('decoding', 1, 1);

    clock.enter('encoding');
    report('encoding', 0, 1);
    const back = await backToCrop(edited, plan);
    // Without compositing the whole crop is the model's (B's place is taken by the crop).
    const blend = settings.background_compositing
      ? cropOf(prepared.editable, crop)
      : { ...crop, data: new Uint8Array(crop.width * crop.height).fill(1) };
    const { original } = prepared;
    const rgbOriginal = { width: original.width, height: original.height, layout: RGB8, data: original.rgb };
    const rgb = compositeBackground(rgbOriginal, back, blend, crop).data as Uint8Array;
    const samples = isRgb8(original.samples.layout)
      ? { ...rgbOriginal, data: rgb }
      : compositeBackground(original.samples, back, blend, crop);
    const { width, height } = original;
    const format = settings.output_format;
    const encoded = await encodeSamples(samples, {
      format,
      ...(format === 'png' ? {} : { quality: settings.output_quality }),
    });
    report('encoding', 1, 1);
    clock.leave();

    const total = clock.total;
    const editableArea = prepared.editable.data.reduce((sum, v) => sum + v, 0);
    const layout = original.samples.layout;
    const metrics: EditMetrics = {
      model: bundle.manifest.model,
      generative_prior: bundle.manifest.generative_prior,
      image: { width, height },
      working_image: { ...working },
      working_crop: { ...crop },
      estimate: { ...plan.estimate },
      operations: prepared.operations.length,
      transformer_calls: m.counter.transformerCalls,
      calls: { ...m.counter.calls },
      forward_pass_equivalents: m.counter.forwardEquivalents,
      phase_seconds: { ...clock.seconds },
      total_seconds: total,
      onnx_seconds: m.counter.onnxSeconds,
      outside_onnx_share: 1 - m.counter.onnxSeconds / total,
      peak_rss_bytes: peakRssBytes(),
      kv_cache_bytes: cache.bytes,
      kv_cache_calls: cache.calls,
      text_encoder_runs: text.encoded,
      losses,
      full_transform_losses: fullTransformLosses,
      learning_rates: { transport: settings.transport_lr, intensify: settings.intensify_lr },
      feature_map: { ...m.featureSize },
      feature_map_bytes: featureMapBytes(m.featureSize, m.blocks.taps.length, m.config),
      supervision_host_bytes: supervisionBytes,
      editable_area_fraction: editableArea / (width * height),
      ...(prepared.editableMask
        ? { outside_editable_mask: changedOutside(original.rgb, rgb, prepared.editableMask) }
        : {}),
      notes: [
        ...m.notes,
        ...text.notes,
        `feature maps ${m.featureSize.width}x${m.featureSize.height}: the ${working.width}x${working.height} working image / ${featureDownscale(working.width, working.height)} (reference code), bilinear from the ${latentSize.width}x${latentSize.height} latent`,
        ...(bundle.manifest.notice ? [`bundle notice: ${bundle.manifest.notice}`] : []),
        `seed ${settings.seed}: no step of this pipeline draws random numbers (encoding uses the posterior mean)`,
        `working image ${working.width}x${working.height} from the ${crop.width}x${crop.height} crop at (${crop.x}, ${crop.y}) of the ${width}x${height} image; the result is resized back and blended in`,
        ...(isRgb8(layout)
          ? []
          : [
              `input ${describeLayout(layout)}: kept exactly outside B; inside B the model's RGB is ${layout.grey ? 'turned to grey (Rec. 601 luma)' : 'used'}${layout.depth === 16 ? ' widened to 16 bits' : ''}${layout.alpha ? ' and opaque' : ''}`,
            ]),
        ...formatLosses(layout, format).map((loss) => `output: ${loss}`),
      ],
    };
    return {
      encoded: new Uint8Array(encoded),
      format,
      width,
      height,
      rgb,
      editableMask: prepared.editable,
      layout,
      plan,
      metrics,
    };
  } finally {
    if (!options.models) await model.release();
  }
}

/** Pixels outside the user's editable mask whose output differs from the input (8-bit RGB). */
function changedOutside(
  before: Uint8Array,
  after: Uint8Array,
  mask: BinaryMask,
): { pixels: number; changed: number; share: number } {
  let pixels = 0;
  let changed = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p]) continue;
    pixels++;
    const o = p * 3;
    if (before[o] !== after[o] || before[o + 1] !== after[o + 1] || before[o + 2] !== after[o + 2]) changed++;
  }
  return { pixels, changed, share: pixels === 0 ? 0 : changed / pixels };
}
