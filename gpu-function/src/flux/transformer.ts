/**
 * The FLUX.1 transformer (Flux.forward in the reference) as graph variants:
 * - velocity: the full model, with optional K/V capture outputs and K/V override inputs;
 * - features: the double-stream trunk up to the last tapped block, returning DragFlow's features;
 * - drag step (drag-step.ts): features -> region loss -> gradient w.r.t. the latent.
 * Each graph is built for one token grid (shapes are concrete).
 */
import { Graph, type Tensor } from '../graph/graph.ts';
import { fluxCheckpointKeys } from './checkpoint-keys.ts';
import { type FluxConfig, headDim, validateFluxConfig } from './config.ts';
import { mlpEmbedder } from './embeddings.ts';
import { FluxModelError } from './errors.ts';
import {
  type AdapterBranch,
  type BlockHooks,
  doubleStreamBlock,
  type KvHook,
  lastLayer,
  linear,
  singleStreamBlock,
} from './layers.ts';
import { ParamBinder, type WeightOptions } from './param-binder.ts';
import { type ComputeDtype, castTo, recordCompute } from './precision.ts';
import type { RotaryTables } from './rope.ts';

/** Token layout of one call: an image of (16 height) x (16 width) pixels and its prompt. */
export interface TokenGrid {
  readonly batch: number;
  /** Image tokens per column: image height / 16 (latent height / 2). */
  readonly height: number;
  /** Image tokens per row: image width / 16. */
  readonly width: number;
  /** Text tokens (T5 sequence length; the DragFlow reference uses 256, FLUX.1-dev 512). */
  readonly textTokens: number;
}

/** Block indices, 0-based, per block kind. */
export interface BlockSelection {
  readonly double: readonly number[];
  readonly single: readonly number[];
}

export const NO_BLOCKS: BlockSelection = { double: [], single: [] };

/** DragFlow's KV-injection blocks ("non-ridge" blocks of FLUX.1-dev). */
export const DRAGFLOW_KV_BLOCKS: BlockSelection = {
  double: [0, 7, 8, 9, 10, 18],
  single: [6, 9, 18, 23, 26, 31, 37],
};

export interface TransformerOptions {
  readonly grid: TokenGrid;
  readonly weights?: WeightOptions;
  /** Blocks whose K/V become outputs `kv_out.<kind>.<i>.k|v`. */
  readonly kvCapture?: BlockSelection;
  /** Blocks whose K/V are replaced by inputs `kv_in.<kind>.<i>.k|v` (KV injection, eta = 0). */
  readonly kvOverride?: BlockSelection;
  /**
   * Element type of the K/V outputs and override inputs (default float32). With float16 the graph
   * casts captured K/V down before its outputs and override inputs up to float32 on entry, so a
   * float16 cache crosses the graph boundary as is: no host conversion, half the bytes copied.
   */
  readonly kvDtype?: 'float32' | 'float16';
  /**
   * With `kvOverride`: the overrides apply only on runs whose bool input `inject_kv` is true, and
   * their inputs' token axis is dynamic (other runs feed one placeholder token). One graph then both
   * captures K/V (inversion) and injects them (sampling, drag steps).
   */
  readonly kvOverrideSwitch?: boolean;
  /** Adapter token count; when set, every block gets the adapter branch and its inputs. */
  readonly adapterTokens?: number;
  /** Element type of the blocks' arithmetic (precision.ts); inputs and outputs stay float32. Default float32. */
  readonly compute?: ComputeDtype;
}

/** Largest batch and token counts a graph may be built for (keeps shapes and memory bounded). */
export const LIMITS = { batch: 8, imageTokensPerSide: 256, textTokens: 512, adapterTokens: 4096 } as const;

/** Input and output names shared by every variant (`transformerFeeds` builds the inputs). */
export const names = {
  img: 'img',
  txt: 'txt',
  y: 'y',
  /** RoPE cos table of the [txt, img] tokens [B, T+L, headDim/2] (rope.ts `rotaryTables`, host). */
  peCos: 'pe_cos',
  peSin: 'pe_sin',
  /** Sinusoidal embedding of the flow time [B, timestepEmbedDim] (embeddings.ts, host). */
  timestepEmbedding: 'timestep_embedding',
  /** Sinusoidal embedding of the distilled guidance strength (guidance-embedding models only). */
  guidanceEmbedding: 'guidance_embedding',
  /** bool []: apply the K/V overrides on this run (`kvOverrideSwitch`). */
  injectKv: 'inject_kv',
  velocity: 'velocity',
  adapterScale: 'adapter_scale',
  kvIn: (kind: 'double' | 'single', block: number, which: 'k' | 'v') => `kv_in.${kind}.${block}.${which}`,
  kvOut: (kind: 'double' | 'single', block: number, which: 'k' | 'v') => `kv_out.${kind}.${block}.${which}`,
  adapter: (kind: 'double' | 'single', block: number, which: 'k' | 'v') =>
    `adapter.${kind}.${block}.${which}`,
} as const;

function checkCount(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new FluxModelError(
      'invalid_input_shape',
      `${what} must be an integer in [1, ${max}], got ${value}`,
    );
  }
}

function checkSelection(config: FluxConfig, what: string, selection: BlockSelection | undefined): void {
  if (!selection) return;
  const kinds = [
    ['double', selection.double, config.depth],
    ['single', selection.single, config.depthSingleBlocks],
  ] as const;
  for (const [kind, blocks, count] of kinds) {
    const seen = new Set<number>();
    for (const b of blocks) {
      if (!Number.isInteger(b) || b < 0 || b >= count || seen.has(b)) {
        throw new FluxModelError(
          'invalid_block_selection',
          `${what}: ${kind} block ${b} is not a distinct index in [0, ${count - 1}] for '${config.name}'`,
        );
      }
      seen.add(b);
    }
  }
}

function validateOptions(config: FluxConfig, options: TransformerOptions): void {
  validateFluxConfig(config);
  const { grid } = options;
  checkCount('grid.batch', grid.batch, LIMITS.batch);
  checkCount('grid.height', grid.height, LIMITS.imageTokensPerSide);
  checkCount('grid.width', grid.width, LIMITS.imageTokensPerSide);
  checkCount('grid.textTokens', grid.textTokens, LIMITS.textTokens);
  if (options.adapterTokens !== undefined)
    checkCount('adapterTokens', options.adapterTokens, LIMITS.adapterTokens);
  checkSelection(config, 'kvCapture', options.kvCapture);
  checkSelection(config, 'kvOverride', options.kvOverride);
}

/** Everything the blocks share: the builder, conditioning, positions and per-block hooks. */
export interface Trunk {
  readonly p: ParamBinder;
  readonly config: FluxConfig;
  readonly grid: TokenGrid;
  /** Packed latent input [B, L, inChannels] (what drag steps differentiate). */
  readonly imgInput: Tensor;
  readonly img: Tensor;
  readonly txt: Tensor;
  readonly vec: Tensor;
  readonly pe: RotaryTables;
  readonly compute: ComputeDtype;
  /** K/V the hooks captured so far (`kvCapture`), in kvDtype, by output name; builders output them. */
  readonly captured: { readonly name: string; readonly tensor: Tensor }[];
  hooks(kind: BlockKind, block: number): BlockHooks;
}

type BlockKind = 'double' | 'single';

/** K/V capture and override, and the adapter branch, of one block, as the options ask. */
function blockHooks(
  g: Graph,
  config: FluxConfig,
  options: TransformerOptions,
  inputs: { adapterScale: Tensor | undefined; injectKv: Tensor | undefined },
  captures: Trunk['captured'],
  kind: BlockKind,
  block: number,
): BlockHooks {
  const { adapterScale, injectKv } = inputs;
  const { batch, height, width, textTokens } = options.grid;
  const heads = config.numHeads;
  const d = headDim(config);
  // Double blocks expose image-token K/V; single blocks the joint text+image sequence.
  const kvShape = [batch, heads, kind === 'double' ? height * width : textTokens + height * width, d];
  const captured = (options.kvCapture ?? NO_BLOCKS)[kind].includes(block);
  const replaced = (options.kvOverride ?? NO_BLOCKS)[kind].includes(block);
  const kvDtype = options.kvDtype ?? 'float32';
  const hooks: { kv?: KvHook; adapter?: AdapterBranch } = {};
  if (captured || replaced) {
    hooks.kv = (k, v) => {
      if (captured) {
        captures.push({ name: names.kvOut(kind, block, 'k'), tensor: castTo(g, k, kvDtype) });
        captures.push({ name: names.kvOut(kind, block, 'v'), tensor: castTo(g, v, kvDtype) });
      }
      if (!replaced) return { k, v };
      const override = (which: 'k' | 'v', own: Tensor) => {
        const dynamicAxes = injectKv ? [2] : [];
        const given = castTo(
          g,
          g.input(names.kvIn(kind, block, which), kvDtype, kvShape, { dynamicAxes }),
          own.dtype,
        );
        return injectKv ? g.where(injectKv, given, own) : given;
      };
      return { k: override('k', k), v: override('v', v) };
    };
  }
  if (adapterScale !== undefined && options.adapterTokens !== undefined) {
    const adapterShape = [batch, heads, options.adapterTokens, d];
    hooks.adapter = {
      k: g.input(names.adapter(kind, block, 'k'), 'float32', adapterShape),
      v: g.input(names.adapter(kind, block, 'v'), 'float32', adapterShape),
      scale: adapterScale,
    };
  }
  return hooks;
}

/** Declares the inputs and computes the embeddings (Flux.forward up to the first block). */
export function buildTrunk(graphName: string, config: FluxConfig, options: TransformerOptions): Trunk {
  validateOptions(config, options);
  const g = new Graph(graphName);
  const compute = options.compute ?? 'float32';
  recordCompute(g, compute);
  const p = new ParamBinder(g, fluxCheckpointKeys(config), options.weights, compute);
  const { batch: b, height, width, textTokens } = options.grid;
  const imageTokens = height * width;
  const inCompute = (t: Tensor) => castTo(g, t, compute);
  const imgInput = g.input(names.img, 'float32', [b, imageTokens, config.inChannels]);
  const txtInput = g.input(names.txt, 'float32', [b, textTokens, config.contextInDim]);
  const embedDim = config.timestepEmbedDim;
  const timestep = g.input(names.timestepEmbedding, 'float32', [b, embedDim]);
  const y = g.input(names.y, 'float32', [b, config.vecInDim]);

  let vec = mlpEmbedder(p, 'time_in', inCompute(timestep));
  if (config.guidanceEmbed) {
    const guidance = g.input(names.guidanceEmbedding, 'float32', [b, embedDim]);
    vec = g.add(vec, mlpEmbedder(p, 'guidance_in', inCompute(guidance)));
  }
  vec = g.add(vec, mlpEmbedder(p, 'vector_in', inCompute(y)));
  // Tables of the text tokens first, then the image tokens, as the reference concatenates them.
  const table = [b, textTokens + imageTokens, headDim(config) / 2];
  const pe = { cos: g.input(names.peCos, 'float32', table), sin: g.input(names.peSin, 'float32', table) };

  const adapterScale =
    options.adapterTokens === undefined ? undefined : g.input(names.adapterScale, 'float32', [1]);
  const injectKv = options.kvOverrideSwitch ? g.input(names.injectKv, 'bool', []) : undefined;
  const captured: Trunk['captured'] = [];
  const hooks = (kind: BlockKind, block: number) =>
    blockHooks(g, config, options, { adapterScale, injectKv }, captured, kind, block);

  return {
    p,
    config,
    grid: options.grid,
    imgInput,
    img: linear(p, 'img_in', inCompute(imgInput)),
    txt: linear(p, 'txt_in', inCompute(txtInput)),
    vec,
    pe,
    compute,
    captured,
    hooks,
  };
}

/** Per double block: the norm1-modulated image stream and the block's image output. */
export interface DoubleBlockTaps {
  readonly modulated: Tensor;
  readonly output: Tensor;
}

/** The image and text streams between blocks. */
export interface Streams {
  readonly img: Tensor;
  readonly txt: Tensor;
}

/** Runs double blocks `from`..`to` on `streams`; returns the streams after `to` and each block's image taps. */
export function runDoubleBlocks(
  trunk: Trunk,
  streams: Streams,
  from: number,
  to: number,
): Streams & { taps: DoubleBlockTaps[] } {
  let { img, txt } = streams;
  const taps: DoubleBlockTaps[] = [];
  for (let i = from; i <= to; i++) {
    const out = trunk.p.graph.segment(`double_blocks.${i}`, () =>
      doubleStreamBlock(
        trunk.p,
        `double_blocks.${i}`,
        trunk.config,
        { img, txt, vec: trunk.vec, pe: trunk.pe },
        trunk.hooks('double', i),
      ),
    );
    img = out.img;
    txt = out.txt;
    taps.push({ modulated: out.imgModulated, output: out.img });
  }
  return { img, txt, taps };
}

/**
 * The rest of Flux.forward from the streams after double block `from - 1`: the remaining double
 * blocks, every single block and the final layer. Returns the velocity [B, L, outChannels], float32.
 */
export function velocityFrom(trunk: Trunk, streams: Streams, from: number): Tensor {
  const { p, config } = trunk;
  const g = p.graph;
  const doubles = runDoubleBlocks(trunk, streams, from, config.depth - 1);
  const textTokens = trunk.grid.textTokens;
  let x = g.concat([doubles.txt, doubles.img], 1);
  for (let i = 0; i < config.depthSingleBlocks; i++) {
    x = g.segment(`single_blocks.${i}`, () =>
      singleStreamBlock(
        p,
        `single_blocks.${i}`,
        config,
        { x, vec: trunk.vec, pe: trunk.pe, textTokens },
        trunk.hooks('single', i),
      ),
    );
  }
  const imageOnly = g.slice(x, [textTokens], [textTokens + trunk.grid.height * trunk.grid.width], [1]);
  return castTo(g, lastLayer(p, 'final_layer', imageOnly, trunk.vec), 'float32');
}

/** Outputs the K/V the trunk's hooks captured (`kv_out.*`). */
export function outputCaptured(trunk: Trunk): void {
  for (const { name, tensor } of trunk.captured) trunk.p.graph.output(name, tensor);
}

/** Velocity graph: inputs `names.*`, output `velocity` [B, L, outChannels]. */
export function buildVelocityGraph(config: FluxConfig, options: TransformerOptions): Graph {
  const trunk = buildTrunk(`${config.name}.velocity`, config, options);
  const g = trunk.p.graph;
  g.output(names.velocity, velocityFrom(trunk, trunk, 0));
  outputCaptured(trunk);
  return g;
}
