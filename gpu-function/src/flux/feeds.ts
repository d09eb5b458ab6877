/**
 * Host-side preparation of a transformer call: turns the reference model's inputs
 * (img, img_ids, txt, txt_ids, timesteps, y, guidance) into the graph's feeds, computing the
 * timestep/guidance embeddings and the RoPE tables the graph takes as inputs.
 */
import type { FluxConfig } from './config.ts';
import { timestepEmbedding } from './embeddings.ts';
import { FluxModelError } from './errors.ts';
import { rotaryTables } from './rope.ts';
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

function expectLength(what: string, data: { length: number }, expected: number): void {
  if (data.length !== expected) {
    throw new FluxModelError(
      'invalid_input_shape',
      `${what} has ${data.length} values, expected ${expected}`,
    );
  }
}

/** The feeds for `names.*` inputs; sizes are checked against the config and grid. */
export function transformerFeeds(
  config: FluxConfig,
  grid: TokenGrid,
  call: TransformerCall,
): Record<string, Float32Array> {
  const { batch: b, textTokens: t } = grid;
  const l = grid.height * grid.width;
  expectLength('img', call.img, b * l * config.inChannels);
  expectLength('imgIds', call.imgIds, b * l * 3);
  expectLength('txt', call.txt, b * t * config.contextInDim);
  expectLength('txtIds', call.txtIds, b * t * 3);
  expectLength('timesteps', call.timesteps, b);
  expectLength('y', call.y, b * config.vecInDim);
  // Positions per batch element: text tokens first, then image tokens, as the reference concatenates them.
  const ids = new Float32Array(b * (t + l) * 3);
  for (let i = 0; i < b; i++) {
    ids.set(call.txtIds.subarray(i * t * 3, (i + 1) * t * 3), i * (t + l) * 3);
    ids.set(call.imgIds.subarray(i * l * 3, (i + 1) * l * 3), (i * (t + l) + t) * 3);
  }
  const pe = rotaryTables(ids, config.axesDim, config.theta);
  const feeds: Record<string, Float32Array> = {
    [names.img]: call.img,
    [names.txt]: call.txt,
    [names.y]: call.y,
    [names.timeEmbedding]: timestepEmbedding(call.timesteps, config.timestepEmbedDim),
    [names.peCos]: pe.cos,
    [names.peSin]: pe.sin,
  };
  if (config.guidanceEmbed) {
    if (call.guidance === undefined) {
      throw new FluxModelError(
        'invalid_input_shape',
        `'${config.name}' embeds guidance: the call needs guidance`,
      );
    }
    expectLength('guidance', call.guidance, b);
    feeds[names.guidanceEmbedding] = timestepEmbedding(call.guidance, config.timestepEmbedDim);
  } else if (call.guidance !== undefined) {
    throw new FluxModelError(
      'invalid_input_shape',
      `'${config.name}' has no guidance embedding: leave guidance out`,
    );
  }
  return feeds;
}
