/**
 * Host-side preparation of a transformer call: checks the reference model's inputs
 * (img, img_ids, txt, txt_ids, timesteps, y, guidance) against the config and grid and names
 * them as the graph's feeds. Embeddings and RoPE are computed in the graph.
 */
import type { FluxConfig } from './config.ts';
import { FluxModelError } from './errors.ts';
import { POSITION_AXES } from './rope.ts';
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
  expectLength('imgIds', call.imgIds, b * l * POSITION_AXES);
  expectLength('txt', call.txt, b * t * config.contextInDim);
  expectLength('txtIds', call.txtIds, b * t * POSITION_AXES);
  expectLength('timesteps', call.timesteps, b);
  expectLength('y', call.y, b * config.vecInDim);
  const feeds: Record<string, Float32Array> = {
    [names.img]: call.img,
    [names.imgIds]: call.imgIds,
    [names.txt]: call.txt,
    [names.txtIds]: call.txtIds,
    [names.timesteps]: Float32Array.from(call.timesteps),
    [names.y]: call.y,
  };
  if (config.guidanceEmbed) {
    if (call.guidance === undefined) {
      throw new FluxModelError(
        'invalid_input_shape',
        `'${config.name}' embeds guidance: the call needs guidance`,
      );
    }
    expectLength('guidance', call.guidance, b);
    feeds[names.guidance] = Float32Array.from(call.guidance);
  } else if (call.guidance !== undefined) {
    throw new FluxModelError(
      'invalid_input_shape',
      `'${config.name}' has no guidance embedding: leave guidance out`,
    );
  }
  return feeds;
}
