/**
 * One DragFlow edit, end to end, as an explicit sequence of phases (shared/src/job.ts
 * PROGRESS_PHASES): preparing (validate, decode, operations, B, sessions, encode), inverting,
 * transport, intensify, sampling, decoding, encoding. Progress is reported per step; the signal is
 * checked before every transformer call; metrics come back with the image.
 *
 * Beyond the paper: with `background_compositing`, the output keeps the original pixels outside B
 * (a FEATHER_WIDTH_PX seam inside B), so the background is exactly the input's.
 */
import type { UrlPolicy } from '@dragflow/shared/https-url';
import type { Progress, ProgressPhase } from '@dragflow/shared/job';
import type { Limits } from '@dragflow/shared/limits';
import type * as ort from 'onnxruntime-node';
import { ensureDemoBundle } from '../bundle/demo.ts';
import { verifyBundle } from '../bundle/verify.ts';
import { compositeBackground, packedLatentMask } from '../dragflow/composite.ts';
import { dragSchedule } from '../dragflow/drag-schedule.ts';
import { resizeMask } from '../dragflow/region.ts';
import type { LoadImageBytes } from '../dragflow/request-operations.ts';
import { editTimesteps } from '../dragflow/schedule.ts';
import type { BinaryMask } from '../image/binary-mask.ts';
import { encodeImage, type OutputFormat } from '../image/encode.ts';
import type { Device } from './device.ts';
import { bundleFeatureDivisor, type FeatureDivisor } from './feature-divisor.ts';
import { invert } from './invert.ts';
import { KvCache } from './kv-cache.ts';
import { packLatent, planesToRgb, rgbToPlanes, unpackLatent } from './latent.ts';
import { type EditMetrics, PhaseClock, peakRssBytes } from './metrics.ts';
import { EditModel } from './model.ts';
import { blockSettings } from './model-blocks.ts';
import type { ModelCache, OpenedBundle } from './model-cache.ts';
import { optimizeLatent } from './optimize.ts';
import { inlineImageLoader, type PreparedEdit, prepareEdit } from './prepare.ts';
import { PromptEncoder, releaseTextEncodersSetting } from './prompt-encoder.ts';
import { sampleEdit } from './sample.ts';
import { editText } from './text-conditioning.ts';

export interface ProgressEvent extends Progress {
  transformer_calls: number;
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
  /** Overrides the bundle's feature map divisor (feature-divisor.ts). */
  featureDivisor?: FeatureDivisor;
  /**
   * Release the text encoders' memory right after the prompts are encoded (memory is short); they
   * reopen for the next edit's new prompts. Default: the DRAGFLOW_RELEASE_TEXT_ENCODERS setting.
   */
  releaseTextEncoders?: boolean;
}

export interface EditResult {
  /** The edited image encoded as `format`, at the input's size. */
  encoded: Uint8Array;
  format: OutputFormat;
  width: number;
  height: number;
  rgb: Uint8Array;
  /** B at the input image's size (0 in the rows and columns beyond the working crop). */
  editableMask: BinaryMask;
  metrics: EditMetrics;
}

async function openBundle(dir: string | undefined): Promise<OpenedBundle> {
  if (dir === undefined) return ensureDemoBundle();
  return { dir, manifest: await verifyBundle(dir, { depth: 'full' }) };
}

/** B at the full image size. */
function fullSizeMask(prepared: PreparedEdit): BinaryMask {
  const { width, height } = prepared.original;
  const out: BinaryMask = { width, height, data: new Uint8Array(width * height) };
  const b = prepared.editable;
  for (let y = 0; y < b.height; y++) out.data.set(b.data.subarray(y * b.width, (y + 1) * b.width), y * width);
  return out;
}

/** The decoded edit pasted over the original's working crop (no compositing). */
function pasteWorking(prepared: PreparedEdit, edited: Uint8Array): Uint8Array {
  const { original, working } = prepared;
  const out = original.rgb.slice();
  for (let y = 0; y < working.height; y++) {
    out.set(edited.subarray(y * working.width * 3, (y + 1) * working.width * 3), y * original.width * 3);
  }
  return out;
}

export async function runEdit(input: unknown, options: EditRunOptions = {}): Promise<EditResult> {
  const clock = new PhaseClock();
  let model: EditModel | undefined;
  const report = (phase: ProgressPhase, step: number, total: number, loss: number | null = null) =>
    options.onProgress?.({
      phase,
      step,
      total,
      loss,
      transformer_calls: model?.counter.transformerCalls ?? 0,
    });

  clock.enter('preparing');
  report('preparing', 0, 1);
  const prepared = await prepareEdit(
    input,
    options.load ?? inlineImageLoader(options.limits),
    options.limits,
    options.urlPolicy,
  );
  const { settings, working } = prepared;
  const bundle = await (options.models
    ? options.models.bundle(options.bundleDir ?? 'demo', () => openBundle(options.bundleDir))
    : openBundle(options.bundleDir));
  const divisor = options.featureDivisor ?? bundleFeatureDivisor(bundle.manifest);
  const modelOptions = {
    regions: prepared.operations.length,
    settings: blockSettings(settings),
    ...(divisor === 'paper' ? {} : { featureDivisor: divisor }),
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
    const imageLatent = packLatent(
      await m.encode(rgbToPlanes(prepared.workingRgb, working)),
      channels,
      latentSize,
    );
    const times = editTimesteps(m.grid.width * m.grid.height, settings.steps, settings.skip_steps);
    // B at latent resolution by the method's rule (bilinear, > 0.5), as gradient-mask.ts does for /8.
    const keep = packedLatentMask(
      resizeMask(prepared.editable, latentSize.width, latentSize.height),
      channels,
    );
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
    const kv = cache.inputs(cache.lastIndex());
    let background = inverted;
    if (settings.background_latent === 'half_step') {
      // The reference code's z_bg: the inverted latent advanced half a denoising step with its velocity.
      const half = (times.denoising[1]! - times.denoising[0]!) / 2;
      const v = await m.velocityInjected(
        inverted,
        times.editTime,
        settings.inversion_guidance,
        text.source,
        kv,
      );
      background = inverted.map((z, i) => z + half * v[i]!);
    }

    const schedule = dragSchedule(settings);
    const transportTotal = settings.transport_iterations;
    const intensifyTotal = settings.intensify_iterations;
    clock.enter('transport');
    const {
      latent: optimised,
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
      operations: prepared.operations,
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
      editGuidance: settings.edit_guidance,
      reconstructionGuidance: settings.inversion_guidance,
      editText: text.target,
      reconstructionText: text.source,
      onStep: (done, total) => report('sampling', done, total),
    });

    clock.enter('decoding');
    report('decoding', 0, 1);
    const edited = await toRgb(sampled);
    report('decoding', 1, 1);

    clock.enter('encoding');
    report('encoding', 0, 1);
    const rgb = settings.background_compositing
      ? compositeBackground(prepared.original, edited, prepared.editable)
      : pasteWorking(prepared, edited);
    const { width, height } = prepared.original;
    const format = settings.output_format;
    const encoded = await encodeImage(rgb, width, height, {
      format,
      ...(format === 'png' ? {} : { quality: settings.output_quality }),
    });
    report('encoding', 1, 1);
    clock.leave();

    const total = clock.total;
    const editableArea = prepared.editable.data.reduce((sum, v) => sum + v, 0);
    const metrics: EditMetrics = {
      model: bundle.manifest.model,
      image: { width, height },
      working_image: { ...working },
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
      editable_area_fraction: editableArea / (working.width * working.height),
      notes: [
        ...m.notes,
        ...text.notes,
        `feature maps ${m.featureSize.width}x${m.featureSize.height}: ${divisor === 'paper' ? "the paper's divisor" : `divisor ${divisor}, as the bundle's features graph`}`,
        ...(bundle.manifest.notice ? [`bundle notice: ${bundle.manifest.notice}`] : []),
        `seed ${settings.seed}: no step of this pipeline draws random numbers (encoding uses the posterior mean)`,
      ],
    };
    return {
      encoded: new Uint8Array(encoded),
      format,
      width,
      height,
      rgb,
      editableMask: fullSizeMask(prepared),
      metrics,
    };
  } finally {
    if (!options.models) await model.release();
  }
}
