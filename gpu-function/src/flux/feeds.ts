/**
 * Host-side preparation of a transformer call: checks the reference model's inputs
 * (img, img_ids, txt, txt_ids, timesteps, y, guidance) against the config and grid, computes what
 * the graphs take instead of ids and times (RoPE tables once per grid, sinusoidal embeddings once
 * per step, both in float64 rounded once) and names everything as the graph's feeds.
 */
import type { FluxConfig } from './config.ts';
import { timestepEmbedding } from './embeddings.ts';
import { FluxModelError } from './errors.ts';
import { POSITION_AXES, rotaryTables } from './rope.ts';
import { names, type TokenGrid } from './transformer.ts';

/** One call, all arrays row-major float32 with a leading batch dimension. */
export interface TransformerCall {
  /** Packed latent [B, L, inChannels]. */
  readonly img: Float32Array;
  /** [B, L, 3] */
  readonly imgIds: Float32Array;
  /** [B, T, contextInDim] */
  readonly txt: Float32Array;
  /** [B, T, 3] */
  readonly txtIds: Float32Array;
  /** [B], in [0, 1]. */
  readonly timesteps: readonly number[];
  /** Pooled text vector [B, vecInDim]. */
  readonly y: Float32Array;
  /** [B]; required by guidance-embedding models, refused by the others. */
  readonly guidance?: readonly number[];
}

type Feeds = Record<string, Float32Array>;

function expectLength(what: string, data: { length: number }, expected: number): void {
  if (data.length !== expected) {
    throw new FluxModelError(
      'invalid_input_shape',
      `${what} has ${data.length} values, expected ${expected}`,
    );
  }
}

/** `pe_cos`, `pe_sin` [B, T+L, headDim/2] of the [txt, img] position ids (once per grid). */
export function rotaryFeeds(
  config: FluxConfig,
  grid: TokenGrid,
  imgIds: Float32Array,
  txtIds: Float32Array,
): Feeds {
  const { batch: b, textTokens: t } = grid;
  const l = grid.height * grid.width;
  expectLength('imgIds', imgIds, b * l * POSITION_AXES);
  expectLength('txtIds', txtIds, b * t * POSITION_AXES);
  const ids = new Float32Array(b * (t + l) * POSITION_AXES);
  for (let i = 0; i < b; i++) {
    const at = i * (t + l) * POSITION_AXES;
    ids.set(txtIds.subarray(i * t * POSITION_AXES, (i + 1) * t * POSITION_AXES), at);
    ids.set(imgIds.subarray(i * l * POSITION_AXES, (i + 1) * l * POSITION_AXES), at + t * POSITION_AXES);
  }
  const { cos, sin } = rotaryTables(ids, config.axesDim, config.theta);
  return { [names.peCos]: cos, [names.peSin]: sin };
}

/** `timestep_embedding` (and `guidance_embedding`) [B, timestepEmbedDim] of one step. */
export function timeFeeds(
  config: FluxConfig,
  grid: TokenGrid,
  timesteps: readonly number[],
  guidance?: readonly number[],
): Feeds {
  expectLength('timesteps', timesteps, grid.batch);
  const feeds: Feeds = {
    [names.timestepEmbedding]: timestepEmbedding(timesteps, config.timestepEmbedDim),
  };
  if (config.guidanceEmbed) {
    if (guidance === undefined) {
      throw new FluxModelError(
        'invalid_input_shape',
        `'${config.name}' embeds guidance: the call needs guidance`,
      );
    }
    expectLength('guidance', guidance, grid.batch);
    feeds[names.guidanceEmbedding] = timestepEmbedding(guidance, config.timestepEmbedDim);
  } else if (guidance !== undefined) {
    throw new FluxModelError(
      'invalid_input_shape',
      `'${config.name}' has no guidance embedding: leave guidance out`,
    );
  }
  return feeds;
}

/** Every feed of `names.*`; sizes are checked against the config and grid. */
export function transformerFeeds(config: FluxConfig, grid: TokenGrid, call: TransformerCall): Feeds {
  const { batch: b, textTokens: t } = grid;
  const l = grid.height * grid.width;
  expectLength('img', call.img, b * l * config.inChannels);
  expectLength('txt', call.txt, b * t * config.contextInDim);
  expectLength('y', call.y, b * config.vecInDim);
  return {
    [names.img]: call.img,
    [names.txt]: call.txt,
    [names.y]: call.y,
    ...rotaryFeeds(config, grid, call.imgIds, call.txtIds),
    ...timeFeeds(config, grid, call.timesteps, call.guidance),
  };
}
