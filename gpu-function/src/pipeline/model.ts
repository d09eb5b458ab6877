/**
 * The model side of one edit: onnxruntime sessions for the edit's image size, opened from a bundle,
 * and one method per kind of call. The transformer is ONE session (flux/edit-graph.ts) whose graph
 * serves every role, so each weight is held once; the autoencoder's encoder and decoder are two
 * more. Every transformer call checks the cancellation signal first, is counted, and its
 * onnxruntime time is measured (metrics.ts).
 *
 * Conditioning: every transformer call takes the text it is conditioned on (`txt` T5 tokens and
 * `y` CLIP's pooled vector, text-conditioning.ts decides what they are). Bundles carry no image
 * adapter yet: it is off.
 */
import { resolveSettings } from '@dragflow/shared/presets';
import * as ort from 'onnxruntime-node';
import { modelConfig, RELEASED_MODELS, type ReleasedModel, releasedModelSpec } from '../bundle/build.ts';
import { demoVaeDecoder, demoVaeEncoder } from '../bundle/demo-vae.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { type BundleConfig, latentScaleOf, workingGrid } from '../bundle/model-config.ts';
import type { Size } from '../dragflow/geometry.ts';
import { type FluxConfig, headDim } from '../flux/config.ts';
import { dragStepNames } from '../flux/drag-step.ts';
import { buildEditGraph, EDIT_GRAPH_REMATERIALIZES, editGraphNames } from '../flux/edit-graph.ts';
import { featureMapSize, featureNames } from '../flux/features.ts';
import { rotaryFeeds, timeFeeds } from '../flux/feeds.ts';
import type { ComputeDtype } from '../flux/precision.ts';
import { imagePositionIds, textPositionIds } from '../flux/rope.ts';
import { names, type TokenGrid } from '../flux/transformer.ts';
import { buildDecoderGraph, buildEncoderGraph, vaeNames } from '../flux/vae.ts';
import { fromOrtTensor, toOrtTensor } from '../graph/ort-data.ts';
import { checkCuda, computeFor, type Device, DeviceError, sessionOptionsFor } from './device.ts';
import { EditCanceled } from './errors.ts';
import { type KvInputs, kvNames } from './kv-cache.ts';
import { CallCounter, type CallKind } from './metrics.ts';
import { type BlockSettings, blockSettings, type ModelBlocks, modelBlocks } from './model-blocks.ts';
import type { TextConditioning } from './prompt-encoder.ts';
import { type GraphVariant, openVariant, runtimeGraphDir } from './runtime-graphs.ts';

export interface ModelOptions {
  /** Regions the drag step supervises (number of operations). */
  regions: number;
  settings: BlockSettings;
  /** Only these tap points (default both, METHOD.featureTaps). */
  tapPoints?: readonly ('modulated' | 'output')[];
  /** Where the sessions run (default cpu): sets the compute dtype and the execution provider. */
  device?: Device;
  /** Merged over the device's options (device.ts `sessionOptionsFor`). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface DragStepResult {
  loss: number;
  gradient: Float32Array;
  /** The supervision features of the latent the step started from, when asked for. */
  features?: Float32Array;
}

/** Graph values: float32, float16 bit patterns (the K/V cache) or bools (the edit graph's switches). */
type Data = Float32Array | Uint16Array | Uint8Array;
/** Data of the input's graph shape, or with its own dims (placeholders for dynamic inputs). */
type Value = Data | { readonly data: Data; readonly dims: readonly number[] };
type Values = Record<string, Value>;
type Results = Record<string, Float32Array | Uint16Array>;

/** An input's dims: its graph shape, one symbolic dim (the injected K/V's tokens) sized by the data. */
function graphDims(shape: readonly (number | string)[], length: number): number[] {
  if (shape.filter((d) => typeof d !== 'number').length > 1) {
    throw new Error(`an input of shape [${shape}] needs its dims with its data`);
  }
  const known = shape.reduce<number>((n, d) => (typeof d === 'number' ? n * d : n), 1);
  return shape.map((d) => (typeof d === 'number' ? d : length / known));
}

/** `value` as a tensor of graph input `name`, whose element type it must match. */
function inputTensor(session: ort.InferenceSession, name: string, value: Value): ort.Tensor {
  const meta = session.inputMetadata.find((m) => m.name === name);
  if (!meta?.isTensor) throw new Error(`graph input '${name}' is missing`);
  const { data, dims } = ArrayBuffer.isView(value)
    ? { data: value, dims: graphDims(meta.shape, value.length) }
    : value;
  if (meta.type === 'float32' && data instanceof Float32Array) return new ort.Tensor('float32', data, dims);
  if (meta.type === 'float16' && data instanceof Uint16Array) return toOrtTensor('float16', data, dims);
  if (meta.type === 'bool' && data instanceof Uint8Array) return new ort.Tensor('bool', data, dims);
  throw new Error(`graph input '${name}' is ${meta.type}; its feed is a ${data.constructor.name}`);
}

const flag = (value: boolean) => Uint8Array.of(value ? 1 : 0);

function float32(values: Results, name: string): Float32Array {
  const data = values[name];
  if (!(data instanceof Float32Array)) throw new Error(`graph output '${name}' is not a float32 result`);
  return data;
}

export class EditModel {
  /** This edit's calls and onnxruntime time (`beginEdit` starts a fresh one). */
  counter: CallCounter;
  private signal: AbortSignal | undefined;
  readonly notes: string[];
  private readonly timeFeeds = new Map<string, Values>();
  /** What every transformer call feeds unchanged: the RoPE tables (once per grid). */
  private readonly fixedFeeds: Values;
  /** One-element stand-ins for the inputs a call does not read (their sizes are dynamic). */
  private readonly placeholders: { kv: Values; supervision: Values };

  private constructor(
    readonly config: FluxConfig,
    readonly grid: TokenGrid,
    readonly latentChannels: number,
    /** Image pixels per latent cell (8 for FLUX.1's autoencoder and the demo's patches). */
    readonly latentScale: number,
    readonly blocks: ModelBlocks,
    private readonly sessions: Record<Session, ort.InferenceSession>,
    readonly featureSize: Size,
    /** The dtype the transformer computes in (precision.ts). */
    readonly compute: ComputeDtype,
  ) {
    this.counter = new CallCounter(config, blocks.taps);
    this.notes = [...blocks.notes, 'image adapter: not in the bundle; off'];
    this.fixedFeeds = {
      ...rotaryFeeds(
        config,
        grid,
        imagePositionIds(grid.height, grid.width),
        textPositionIds(grid.textTokens),
      ),
    };
    const one = (data: Data, rank: number) => ({ data, dims: new Array<number>(rank).fill(1) });
    const kvToken = {
      data: new Uint16Array(config.numHeads * headDim(config)),
      dims: [1, config.numHeads, 1, headDim(config)],
    };
    this.placeholders = {
      kv: Object.fromEntries(kvNames(blocks.kv).map(({ input }) => [input, kvToken])),
      supervision: {
        [dragStepNames.warpedFeatures]: one(new Float32Array(1), 4),
        [dragStepNames.regionMasks]: one(new Float32Array(1), 4),
        [dragStepNames.regionWeights]: one(new Float32Array(1), 1),
      },
    };
  }

  /** Opens the sessions an edit of a `image`-sized working image needs (built on first use, then cached). */
  static async open(
    bundleDir: string,
    manifest: Manifest,
    image: Size,
    options: ModelOptions,
  ): Promise<EditModel> {
    const plan = editSessionPlan(manifest.config, image, options);
    if (plan.device === 'cuda') await checkCuda();
    const dir = await runtimeGraphDir(bundleDir, manifest);
    const sessions = {} as Record<Session, ort.InferenceSession>;
    try {
      for (const [session, variant] of Object.entries(plan.variants) as [Session, GraphVariant][]) {
        sessions[session] = await openVariant(dir, manifest, variant, plan.sessionOptions);
      }
    } catch (error) {
      for (const opened of Object.values(sessions)) await opened.release();
      if (plan.device === 'cuda' && /Failed to load shared library/.test(String(error))) {
        throw new DeviceError(
          `onnxruntime could not start its CUDA provider: ${(error as Error).message}`,
          [],
        );
      }
      throw error;
    }
    const { config, grid, blocks, mapSize, compute, latentScale } = plan;
    const ae = manifest.config.autoencoder;
    return new EditModel(config, grid, ae.zChannels, latentScale, blocks, sessions, mapSize, compute);
  }

  /** Starts an edit on these sessions: fresh counters, and the edit's cancellation signal. */
  beginEdit(signal?: AbortSignal): void {
    this.counter = new CallCounter(this.config, this.blocks.taps);
    this.signal = signal;
  }

  async release(): Promise<void> {
    for (const session of Object.values(this.sessions)) await session.release();
  }

  /** Planes [3, H, W] in [-1, 1] -> unpacked latent [C, H/8, W/8]. */
  async encode(planes: Float32Array): Promise<Float32Array> {
    return float32(await this.run('vae', { [vaeNames.image]: planes }), vaeNames.latent);
  }

  async decode(latent: Float32Array): Promise<Float32Array> {
    return float32(await this.run('vae', { [vaeNames.latent]: latent }), vaeNames.image);
  }

  /** Velocity at (img, t), capturing the injected blocks' K/V in float16 (inversion). */
  async velocityCapturing(
    img: Float32Array,
    t: number,
    guidance: number,
    text: TextConditioning,
  ): Promise<{ velocity: Float32Array; captured: Results }> {
    const feeds = { ...this.role(t, guidance, text, 'velocity', undefined), [names.img]: img };
    const fetches = [names.velocity, ...kvNames(this.blocks.kv).map((n) => n.output)];
    const out = await this.run('velocity', feeds, fetches);
    return { velocity: float32(out, names.velocity), captured: out };
  }

  /** Velocity at (img, t) with the cached K/V injected. */
  async velocityInjected(
    img: Float32Array,
    t: number,
    guidance: number,
    text: TextConditioning,
    kv: KvInputs,
  ): Promise<Float32Array> {
    const feeds = { ...this.role(t, guidance, text, 'velocity', kv), [names.img]: img };
    return float32(await this.run('velocity', feeds, [names.velocity]), names.velocity);
  }

  /** The supervision features [C, h, w] of img (F0). */
  async features(
    img: Float32Array,
    t: number,
    guidance: number,
    text: TextConditioning,
    kv: KvInputs,
  ): Promise<Float32Array> {
    const feeds = { ...this.role(t, guidance, text, 'features', kv), [names.img]: img };
    return float32(await this.run('features', feeds, [featureNames.features]), featureNames.features);
  }

  /**
   * Loss and dL/d img against warped targets [R, C, h, w], masks [R, 1, h, w] and weights [R];
   * with `withFeatures`, also F(img) [C, h, w] (computed anyway, copied back only when asked).
   */
  async dragStep(
    img: Float32Array,
    t: number,
    guidance: number,
    text: TextConditioning,
    kv: KvInputs,
    targets: { warped: Float32Array; masks: Float32Array; weights: Float32Array },
    withFeatures = false,
  ): Promise<DragStepResult> {
    const feeds = {
      ...this.role(t, guidance, text, 'drag_step', kv),
      [names.img]: img,
      ...this.supervision(targets),
    };
    const fetches = [
      dragStepNames.loss,
      dragStepNames.gradient,
      ...(withFeatures ? [dragStepNames.features] : []),
    ];
    const out = await this.run('drag_step', feeds, fetches);
    return {
      loss: float32(out, dragStepNames.loss)[0]!,
      gradient: float32(out, dragStepNames.gradient),
      ...(withFeatures ? { features: float32(out, dragStepNames.features) } : {}),
    };
  }

  /** The drag step's targets with their dims (the edit graph's supervision inputs are dynamic). */
  private supervision(targets: { warped: Float32Array; masks: Float32Array; weights: Float32Array }): Values {
    const { height, width } = this.featureSize;
    const regions = targets.weights.length;
    const channels = targets.warped.length / (regions * height * width);
    return {
      [dragStepNames.warpedFeatures]: { data: targets.warped, dims: [regions, channels, height, width] },
      [dragStepNames.regionMasks]: { data: targets.masks, dims: [regions, 1, height, width] },
      [dragStepNames.regionWeights]: { data: targets.weights, dims: [regions] },
    };
  }

  /**
   * The feeds of one transformer call but the latent (and the drag step's targets): conditioning
   * (text, time embeddings, RoPE tables),
   * the edit graph's switches for `kind`, K/V to inject (or placeholders), placeholders for the
   * supervision inputs.
   */
  private role(
    t: number,
    guidance: number,
    text: TextConditioning,
    kind: 'velocity' | 'features' | 'drag_step',
    kv: KvInputs | undefined,
  ): Values {
    const key = `${t}|${guidance}`;
    let time = this.timeFeeds.get(key);
    if (!time) {
      time = timeFeeds(this.config, this.grid, [t], this.config.guidanceEmbed ? [guidance] : undefined);
      this.timeFeeds.set(key, time);
    }
    return {
      ...this.fixedFeeds,
      ...time,
      [names.txt]: text.txt,
      [names.y]: text.y,
      ...this.placeholders.supervision,
      ...(kv ?? this.placeholders.kv),
      [names.injectKv]: flag(kv !== undefined),
      [editGraphNames.runVelocity]: flag(kind === 'velocity'),
      [editGraphNames.runDragStep]: flag(kind === 'drag_step'),
    };
  }

  /** Runs one call; `fetches` limits the outputs copied back (default: all). */
  private async run(kind: CallKind, feeds: Values, fetches?: readonly string[]): Promise<Results> {
    if (kind !== 'vae' && this.signal?.aborted) throw new EditCanceled(this.counter.transformerCalls);
    const s =
      this.sessions[kind === 'vae' ? (vaeNames.image in feeds ? 'vaeEncoder' : 'vaeDecoder') : 'transformer'];
    const inputs: Record<string, ort.Tensor> = {};
    for (const name of s.inputNames) {
      const data = feeds[name];
      if (!data) throw new Error(`no feed for graph input '${name}'`);
      inputs[name] = inputTensor(s, name, data);
    }
    const started = performance.now();
    const out = fetches ? await s.run(inputs, [...fetches]) : await s.run(inputs);
    this.counter.record(kind, (performance.now() - started) / 1000);
    const results: Results = {};
    for (const [name, value] of Object.entries(out))
      results[name] = fromOrtTensor(value) as Float32Array | Uint16Array;
    return results;
  }
}

type Session = 'vaeEncoder' | 'vaeDecoder' | 'transformer';

/** Everything an edit's sessions are built from: graphs, grid, blocks, device and session options. */
export interface EditSessionPlan {
  config: FluxConfig;
  grid: TokenGrid;
  blocks: ModelBlocks;
  mapSize: Size;
  latentScale: number;
  device: Device;
  compute: ComputeDtype;
  variants: Record<Session, GraphVariant>;
  sessionOptions: ort.InferenceSession.SessionOptions;
}

/**
 * The sessions a paper-preset edit of a size x size image opens with a released FLUX.1 model, for
 * plans and checks that need no bundle (the graphs build shape-only: `variant.build(() => undefined, ...)`).
 */
export function releasedEditPlan(
  model: ReleasedModel,
  size: number,
  options: Omit<ModelOptions, 'settings'>,
): EditSessionPlan {
  const grid = { batch: 1, height: size / 16, width: size / 16, textTokens: RELEASED_MODELS[model].t5Tokens };
  const spec = releasedModelSpec(model, grid);
  return editSessionPlan(
    modelConfig(spec.transformer, spec.autoencoder, grid),
    { width: size, height: size },
    { ...options, settings: blockSettings(resolveSettings({})) },
  );
}

/**
 * The sessions an edit of an `image`-sized working image opens, for a bundle of this config
 * (bench:memory opens the same; check:placement checks their graphs).
 */
export function editSessionPlan(
  bundleConfig: BundleConfig,
  image: Size,
  options: ModelOptions,
): EditSessionPlan {
  const config = bundleConfig.transformer;
  const ae = bundleConfig.autoencoder;
  const latentScale = latentScaleOf(ae);
  const grid = workingGrid(bundleConfig, image);
  const allBlocks = modelBlocks(config, options.settings);
  const blocks = {
    ...allBlocks,
    taps: allBlocks.taps.filter((t) => !options.tapPoints || options.tapPoints.includes(t.point)),
  };
  const mapSize = featureMapSize(image);
  const device = options.device ?? 'cpu';
  const compute = computeFor(device);
  const variants = graphVariants(config, ae, {
    grid,
    blocks,
    regions: options.regions,
    image,
    mapSize,
    compute,
    rematerialize: EDIT_GRAPH_REMATERIALIZES,
  });
  const sessionOptions = { ...sessionOptionsFor(device), ...options.sessionOptions };
  return { config, grid, blocks, mapSize, latentScale, device, compute, variants, sessionOptions };
}

interface VariantOptions {
  grid: TokenGrid;
  blocks: ModelBlocks;
  regions: number;
  image: Size;
  mapSize: Size;
  compute: ComputeDtype;
  rematerialize: boolean;
}

function graphVariants(
  config: FluxConfig,
  autoencoder: BundleConfig['autoencoder'],
  options: VariantOptions,
): Record<Session, GraphVariant> {
  const { grid, blocks, image } = options;
  const bound = (
    weights: Parameters<GraphVariant['build']>[0],
    stored: Parameters<GraphVariant['build']>[1],
  ) => ({
    source: (spec: { name: string }) => weights(spec.name),
    stored,
  });
  const vae = (which: 'encoder' | 'decoder'): GraphVariant => ({
    name: `vae_${which}`,
    build: (weights, stored) => {
      // The demo bundle's autoencoder is a fixed patch transform (bundle/demo-vae.ts), not FLUX's VAE.
      if ('patch' in autoencoder) {
        const lookup = (name: string) => weights(name);
        return which === 'encoder'
          ? demoVaeEncoder(image.height, image.width, lookup)
          : demoVaeDecoder(image.height, image.width, lookup);
      }
      const vaeOptions = { batch: 1, ...image, weights: bound(weights, stored) };
      return which === 'encoder'
        ? buildEncoderGraph(autoencoder, vaeOptions)
        : buildDecoderGraph(autoencoder, vaeOptions);
    },
  });
  return {
    vaeEncoder: vae('encoder'),
    vaeDecoder: vae('decoder'),
    transformer: {
      name: `edit_${options.compute}`,
      build: (w, s) =>
        buildEditGraph(config, {
          grid,
          regions: options.regions,
          weights: bound(w, s),
          kvBlocks: blocks.kv,
          // The K/V cache is float16 (kv-cache.ts): the graph takes and gives it as is.
          kvDtype: 'float16',
          taps: blocks.taps,
          image,
          mapSize: options.mapSize,
          compute: options.compute,
          rematerializeBlocks: options.rematerialize,
        }),
    },
  };
}
