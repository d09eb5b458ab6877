/**
 * The FLUX.1 transformer (Flux.forward in the reference) as graph variants:
 * - velocity: the full model, with optional K/V capture outputs and K/V override inputs;
 * - features: the double-stream trunk up to the last tapped block, returning DragFlow's features;
 * - drag step (drag-step.ts): features -> region loss -> gradient w.r.t. the latent.
 * Each graph is built for one token grid (shapes are concrete).
 */
import type { DType } from '../graph/dtype.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { fluxCheckpointKeys } from './checkpoint-keys.ts';
import { type FluxConfig, headDim, validateFluxConfig } from './config.ts';
import { mlpEmbedder, timestepEmbedding } from './embeddings.ts';
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
import { embedPositions, POSITION_AXES, type RotaryTables } from './rope.ts';

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
  /** Adapter token count; when set, every block gets the adapter branch and its inputs. */
  readonly adapterTokens?: number;
}

/** Largest batch and token counts a graph may be built for (keeps shapes and memory bounded). */
export const LIMITS = { batch: 8, imageTokensPerSide: 256, textTokens: 512, adapterTokens: 4096 } as const;

/** Input and output names shared by every variant (`transformerFeeds` builds the inputs). */
export const names = {
  img: 'img',
  txt: 'txt',
  y: 'y',
  /** Position ids (0, row, column) of the image tokens [B, L, 3], float32 as the reference passes them. */
  imgIds: 'img_ids',
  /** Position ids of the text tokens [B, T, 3]. */
  txtIds: 'txt_ids',
  /** Flow time of each batch element [B], in [0, 1]. */
  timesteps: 'timesteps',
  /** Distilled guidance strength [B] (guidance-embedding models only). */
  guidance: 'guidance',
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
  hooks(kind: BlockKind, block: number): BlockHooks;
}

type BlockKind = 'double' | 'single';

/** K/V capture and override, and the adapter branch, of one block, as the options ask. */
function blockHooks(
  g: Graph,
  config: FluxConfig,
  options: TransformerOptions,
  adapterScale: Tensor | undefined,
  kind: BlockKind,
  block: number,
): BlockHooks {
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
    const as = (x: Tensor, dtype: DType) => (x.dtype === dtype ? x : g.cast(x, dtype));
    hooks.kv = (k, v) => {
      if (captured) {
        g.output(names.kvOut(kind, block, 'k'), as(k, kvDtype));
        g.output(names.kvOut(kind, block, 'v'), as(v, kvDtype));
      }
      if (!replaced) return { k, v };
      return {
        k: as(g.input(names.kvIn(kind, block, 'k'), kvDtype, kvShape), k.dtype),
        v: as(g.input(names.kvIn(kind, block, 'v'), kvDtype, kvShape), v.dtype),
      };
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
  const p = new ParamBinder(g, fluxCheckpointKeys(config), options.weights);
  const { batch: b, height, width, textTokens } = options.grid;
  const imageTokens = height * width;
  const imgInput = g.input(names.img, 'float32', [b, imageTokens, config.inChannels]);
  const txtInput = g.input(names.txt, 'float32', [b, textTokens, config.contextInDim]);
  const imgIds = g.input(names.imgIds, 'float32', [b, imageTokens, POSITION_AXES]);
  const txtIds = g.input(names.txtIds, 'float32', [b, textTokens, POSITION_AXES]);
  const timesteps = g.input(names.timesteps, 'float32', [b]);
  const y = g.input(names.y, 'float32', [b, config.vecInDim]);
  const embedDim = config.timestepEmbedDim;

  let vec = mlpEmbedder(p, 'time_in', timestepEmbedding(g, timesteps, embedDim));
  if (config.guidanceEmbed) {
    const guidance = g.input(names.guidance, 'float32', [b]);
    vec = g.add(vec, mlpEmbedder(p, 'guidance_in', timestepEmbedding(g, guidance, embedDim)));
  }
  vec = g.add(vec, mlpEmbedder(p, 'vector_in', y));
  // Text tokens first, then image tokens, as the reference concatenates them.
  const pe = embedPositions(g, g.concat([txtIds, imgIds], 1), config.axesDim, config.theta);

  const adapterScale =
    options.adapterTokens === undefined ? undefined : g.input(names.adapterScale, 'float32', [1]);
  const hooks = (kind: BlockKind, block: number) => blockHooks(g, config, options, adapterScale, kind, block);

  return {
    p,
    config,
    grid: options.grid,
    imgInput,
    img: linear(p, 'img_in', imgInput),
    txt: linear(p, 'txt_in', txtInput),
    vec,
    pe,
    hooks,
  };
}

/** Per double block: the norm1-modulated image stream and the block's image output. */
export interface DoubleBlockTaps {
  readonly modulated: Tensor;
  readonly output: Tensor;
}

/** Runs double blocks 0..last; returns the streams after `last` and each block's image taps. */
export function runDoubleBlocks(
  trunk: Trunk,
  last: number,
): { img: Tensor; txt: Tensor; taps: DoubleBlockTaps[] } {
  let { img, txt } = trunk;
  const taps: DoubleBlockTaps[] = [];
  for (let i = 0; i <= last; i++) {
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

/** Velocity graph: inputs `names.*`, output `velocity` [B, L, outChannels]. */
export function buildVelocityGraph(config: FluxConfig, options: TransformerOptions): Graph {
  const trunk = buildTrunk(`${config.name}.velocity`, config, options);
  const { p } = trunk;
  const g = p.graph;
  const doubles = runDoubleBlocks(trunk, config.depth - 1);
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
  g.output(names.velocity, lastLayer(p, 'final_layer', imageOnly, trunk.vec));
  return g;
}
