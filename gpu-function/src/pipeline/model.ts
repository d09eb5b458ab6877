/**
 * The model side of one edit: onnxruntime sessions for the edit's image size, opened from a bundle,
 * and one method per kind of call. Every transformer call checks the cancellation signal first,
 * is counted, and its onnxruntime time is measured (metrics.ts).
 *
 * Conditioning: every transformer call takes the text it is conditioned on (`txt` T5 tokens and
 * `y` CLIP's pooled vector, text-conditioning.ts decides what they are). Bundles carry no image
 * adapter yet: it is off.
 */
import type { Settings } from '@dragflow/shared/presets';
import * as ort from 'onnxruntime-node';
import { demoVaeDecoder, demoVaeEncoder } from '../bundle/demo-vae.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { BundleConfig } from '../bundle/model-config.ts';
import type { Size } from '../dragflow/geometry.ts';
import { autoEncoderDownscale, type FluxConfig } from '../flux/config.ts';
import { buildDragStepGraph, dragStepNames } from '../flux/drag-step.ts';
import { buildFeatureGraph, featureDivisor, featureNames } from '../flux/features.ts';
import { transformerFeeds } from '../flux/feeds.ts';
import { imagePositionIds, textPositionIds } from '../flux/rope.ts';
import { buildVelocityGraph, names, type TokenGrid } from '../flux/transformer.ts';
import { buildDecoderGraph, buildEncoderGraph, vaeNames } from '../flux/vae.ts';
import { fromOrtTensor, toOrtTensor } from '../graph/ort-data.ts';
import { EditCanceled } from './errors.ts';
import type { KvInputs } from './kv-cache.ts';
import { CallCounter, type CallKind } from './metrics.ts';
import { type ModelBlocks, modelBlocks } from './model-blocks.ts';
import type { TextConditioning } from './prompt-encoder.ts';
import { type GraphVariant, openVariant, runtimeGraphDir } from './runtime-graphs.ts';

export interface ModelOptions {
  /** Regions the drag step supervises (number of operations). */
  regions: number;
  settings: Pick<Settings, 'feature_blocks' | 'kv_double_blocks' | 'kv_single_blocks'>;
  /** Feature map size divisor relative to the latent (paper: featureDivisor of the image size). */
  featureDivisor?: number;
  /** Only these tap points (default both, METHOD.featureTaps). */
  tapPoints?: readonly ('modulated' | 'output')[];
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface DragStepResult {
  loss: number;
  gradient: Float32Array;
  /** The supervision features of the latent the step started from, when asked for. */
  features?: Float32Array;
}

/** Graph values: float32, or float16 bit patterns (the K/V cache). */
type Values = Record<string, Float32Array | Uint16Array>;

/** `data` as a tensor of graph input `name`, whose element type it must match. */
function inputTensor(
  session: ort.InferenceSession,
  name: string,
  data: Float32Array | Uint16Array,
): ort.Tensor {
  const meta = session.inputMetadata.find((m) => m.name === name);
  if (!meta?.isTensor) throw new Error(`graph input '${name}' is missing`);
  const dims = meta.shape.map(Number);
  if (meta.type === 'float32' && data instanceof Float32Array) return new ort.Tensor('float32', data, dims);
  if (meta.type === 'float16' && data instanceof Uint16Array) return toOrtTensor('float16', data, dims);
  throw new Error(`graph input '${name}' is ${meta.type}; its feed is a ${data.constructor.name}`);
}

function float32(values: Values, name: string): Float32Array {
  const data = values[name];
  if (!(data instanceof Float32Array)) throw new Error(`graph output '${name}' is not a float32 result`);
  return data;
}

export class EditModel {
  /** This edit's calls and onnxruntime time (`beginEdit` starts a fresh one). */
  counter: CallCounter;
  private signal: AbortSignal | undefined;
  readonly notes: string[];
  /** Feeds per text and (t, guidance); weakly held, so an edit's texts leave with it. */
  private readonly baseFeeds = new WeakMap<TextConditioning, Map<string, Values>>();

  private constructor(
    readonly config: FluxConfig,
    readonly grid: TokenGrid,
    readonly latentChannels: number,
    /** Image pixels per latent cell (8 for FLUX.1's autoencoder and the demo's patches). */
    readonly latentScale: number,
    readonly blocks: ModelBlocks,
    private readonly sessions: Record<Session, ort.InferenceSession>,
    readonly featureSize: Size,
  ) {
    this.counter = new CallCounter(config, blocks.taps);
    this.notes = [...blocks.notes, 'image adapter: not in the bundle; off'];
  }

  /** Opens the sessions an edit of a `image`-sized working image needs (built on first use, then cached). */
  static async open(
    bundleDir: string,
    manifest: Manifest,
    image: Size,
    options: ModelOptions,
  ): Promise<EditModel> {
    const bundleConfig = manifest.config;
    const config = bundleConfig.transformer;
    const ae = bundleConfig.autoencoder;
    const latentScale = 'patch' in ae ? ae.patch : autoEncoderDownscale(ae);
    const grid: TokenGrid = {
      batch: 1,
      height: image.height / (2 * latentScale),
      width: image.width / (2 * latentScale),
      textTokens: bundleConfig.graph_grid.textTokens,
    };
    const allBlocks = modelBlocks(config, options.settings);
    const blocks = {
      ...allBlocks,
      taps: allBlocks.taps.filter((t) => !options.tapPoints || options.tapPoints.includes(t.point)),
    };
    const divisor = options.featureDivisor ?? featureDivisor(image.height, image.width);
    const mapSize = {
      height: Math.floor((2 * grid.height) / divisor),
      width: Math.floor((2 * grid.width) / divisor),
    };
    const variants = graphVariants(
      config,
      bundleConfig.autoencoder,
      grid,
      blocks,
      options.regions,
      image,
      mapSize,
    );
    const dir = await runtimeGraphDir(bundleDir, manifest);
    const sessions = {} as Record<Session, ort.InferenceSession>;
    for (const [session, variant] of Object.entries(variants) as [Session, GraphVariant][]) {
      sessions[session] = await openVariant(dir, manifest, variant, options.sessionOptions);
    }
    return new EditModel(config, grid, ae.zChannels, latentScale, blocks, sessions, mapSize);
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
    return float32(await this.run('vaeEncoder', 'vae', { [vaeNames.image]: planes }), vaeNames.latent);
  }

  async decode(latent: Float32Array): Promise<Float32Array> {
    return float32(await this.run('vaeDecoder', 'vae', { [vaeNames.latent]: latent }), vaeNames.image);
  }

  /** Velocity at (img, t), capturing the injected blocks' K/V in float16 (inversion). */
  async velocityCapturing(
    img: Float32Array,
    t: number,
    guidance: number,
    text: TextConditioning,
  ): Promise<{ velocity: Float32Array; captured: Values }> {
    const out = await this.run('velocityCapture', 'velocity', {
      ...this.conditioning(t, guidance, text),
      [names.img]: img,
    });
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
    const feeds = { ...this.conditioning(t, guidance, text), ...kv, [names.img]: img };
    return float32(await this.run('velocityInject', 'velocity', feeds), names.velocity);
  }

  /** The supervision features [C, h, w] of img (F0). */
  async features(
    img: Float32Array,
    t: number,
    guidance: number,
    text: TextConditioning,
    kv: KvInputs,
  ): Promise<Float32Array> {
    const feeds = { ...this.conditioning(t, guidance, text), ...kv, [names.img]: img };
    return float32(await this.run('features', 'features', feeds), featureNames.features);
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
      ...this.conditioning(t, guidance, text),
      ...kv,
      [names.img]: img,
      [dragStepNames.warpedFeatures]: targets.warped,
      [dragStepNames.regionMasks]: targets.masks,
      [dragStepNames.regionWeights]: targets.weights,
    };
    const fetches = [
      dragStepNames.loss,
      dragStepNames.gradient,
      ...(withFeatures ? [dragStepNames.features] : []),
    ];
    const out = await this.run('dragStep', 'drag_step', feeds, fetches);
    return {
      loss: float32(out, dragStepNames.loss)[0]!,
      gradient: float32(out, dragStepNames.gradient),
      ...(withFeatures ? { features: float32(out, dragStepNames.features) } : {}),
    };
  }

  /** Feeds that depend on (t, guidance, text) only: the text, embeddings and RoPE tables. */
  private conditioning(t: number, guidance: number, text: TextConditioning): Values {
    const key = `${t}|${guidance}`;
    let byTime = this.baseFeeds.get(text);
    if (!byTime) this.baseFeeds.set(text, (byTime = new Map()));
    let feeds = byTime.get(key);
    if (!feeds) {
      const { grid, config } = this;
      const tokens = grid.height * grid.width;
      feeds = transformerFeeds(config, grid, {
        img: new Float32Array(tokens * config.inChannels),
        imgIds: imagePositionIds(grid.height, grid.width),
        txt: text.txt,
        txtIds: textPositionIds(grid.textTokens),
        timesteps: [t],
        y: text.y,
        ...(config.guidanceEmbed ? { guidance: [guidance] } : {}),
      });
      delete feeds[names.img];
      byTime.set(key, feeds);
    }
    return feeds;
  }

  /** Runs one session; `fetches` limits the outputs copied back (default: all). */
  private async run(
    session: Session,
    kind: CallKind,
    feeds: Values,
    fetches?: readonly string[],
  ): Promise<Values> {
    if (kind !== 'vae' && this.signal?.aborted) throw new EditCanceled(this.counter.transformerCalls);
    const s = this.sessions[session];
    const inputs: Record<string, ort.Tensor> = {};
    for (const name of s.inputNames) {
      const data = feeds[name];
      if (!data) throw new Error(`no feed for graph input '${name}'`);
      inputs[name] = inputTensor(s, name, data);
    }
    const started = performance.now();
    const out = fetches ? await s.run(inputs, [...fetches]) : await s.run(inputs);
    this.counter.record(kind, (performance.now() - started) / 1000);
    const results: Values = {};
    for (const [name, value] of Object.entries(out))
      results[name] = fromOrtTensor(value) as Float32Array | Uint16Array;
    return results;
  }
}

type Session = 'vaeEncoder' | 'vaeDecoder' | 'velocityCapture' | 'velocityInject' | 'features' | 'dragStep';

function graphVariants(
  config: FluxConfig,
  autoencoder: BundleConfig['autoencoder'],
  grid: TokenGrid,
  blocks: ModelBlocks,
  regions: number,
  image: Size,
  mapSize: Size,
): Record<Session, GraphVariant> {
  const bound = (
    weights: Parameters<GraphVariant['build']>[0],
    stored: Parameters<GraphVariant['build']>[1],
  ) => ({
    source: (spec: { name: string }) => weights(spec.name),
    stored,
  });
  // The K/V cache is float16 (kv-cache.ts): every graph that captures or injects K/V takes it as is.
  const kvDtype = 'float16';
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
      const options = { batch: 1, ...image, weights: bound(weights, stored) };
      return which === 'encoder'
        ? buildEncoderGraph(autoencoder, options)
        : buildDecoderGraph(autoencoder, options);
    },
  });
  return {
    vaeEncoder: vae('encoder'),
    vaeDecoder: vae('decoder'),
    velocityCapture: {
      name: 'velocity_capture',
      build: (w, s) =>
        buildVelocityGraph(config, { grid, weights: bound(w, s), kvCapture: blocks.kv, kvDtype }),
    },
    velocityInject: {
      name: 'velocity_inject',
      build: (w, s) =>
        buildVelocityGraph(config, { grid, weights: bound(w, s), kvOverride: blocks.kv, kvDtype }),
    },
    features: {
      name: 'features',
      build: (w, s) =>
        buildFeatureGraph(config, {
          grid,
          weights: bound(w, s),
          kvOverride: blocks.kv,
          kvDtype,
          taps: blocks.taps,
          mapSize,
        }),
    },
    dragStep: {
      name: 'drag_step',
      build: (w, s) =>
        buildDragStepGraph(config, {
          grid,
          regions,
          weights: bound(w, s),
          kvOverride: blocks.kv,
          kvDtype,
          taps: blocks.taps,
          mapSize,
        }),
    },
  };
}
