/**
 * Rotary position embedding over three position axes (EmbedND in the reference): each axis
 * rotates its own slice of every head's channels, pairing channels (2j, 2j+1).
 *
 * The cos/sin tables are computed on the host, once per token grid, in float64 as the reference
 * computes its angles, and rounded to float32 once; graphs take them as inputs (`pe_cos`,
 * `pe_sin`), so no graph carries float64 maths.
 */
import type { Tensor } from '../graph/graph.ts';

/** Axes of every position id: (0, row, column) for image tokens, as the reference builds them. */
export const POSITION_AXES = 3;

/** cos and sin of every rotation angle as graph tensors [B, N, D/2]. */
export interface RotaryTables {
  readonly cos: Tensor;
  readonly sin: Tensor;
}

/** Host tables [B, N, D/2] row-major: cos and sin of angle (token, channel pair). */
export interface RotaryTableData {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/**
 * ids [B, N, axes] (float positions, row-major) -> tables for head dimension sum(axesDim): the
 * angle of pair j of axis i is ids[..., i] * theta^(-2j/dim_i), axes concatenated in order; float64
 * throughout, rounded to float32 once.
 */
export function rotaryTables(ids: Float32Array, axesDim: readonly number[], theta: number): RotaryTableData {
  const tokens = ids.length / POSITION_AXES;
  const pairs = axesDim.reduce((a, d) => a + d, 0) / 2;
  const frequencies = axesDim.flatMap((dim) =>
    Array.from({ length: dim / 2 }, (_, j) => 1 / theta ** ((2 * j) / dim)),
  );
  const axisOfPair = axesDim.flatMap((dim, axis) => new Array<number>(dim / 2).fill(axis));
  const cos = new Float32Array(tokens * pairs);
  const sin = new Float32Array(tokens * pairs);
  for (let n = 0; n < tokens; n++) {
    for (let p = 0; p < pairs; p++) {
      const angle = ids[n * POSITION_AXES + axisOfPair[p]!]! * frequencies[p]!;
      cos[n * pairs + p] = Math.cos(angle);
      sin[n * pairs + p] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Position ids as the reference sampler builds them: image token (row i, column j) of an
 * h x w token grid gets (0, i, j); text tokens get (0, 0, 0). Returned as [N, POSITION_AXES] row-major.
 */
export function imagePositionIds(height: number, width: number): Float32Array {
  const ids = new Float32Array(height * width * POSITION_AXES);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const at = (i * width + j) * POSITION_AXES;
      ids[at + 1] = i;
      ids[at + 2] = j;
    }
  }
  return ids;
}

export function textPositionIds(tokens: number): Float32Array {
  return new Float32Array(tokens * POSITION_AXES);
}
