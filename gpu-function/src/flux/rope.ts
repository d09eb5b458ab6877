/**
 * Rotary position embedding over three position axes (EmbedND in the reference): each axis
 * rotates its own slice of every head's channels, pairing channels (2j, 2j+1).
 *
 * The cos/sin tables are computed on the host from the position ids (in float64, stored as
 * float32) and fed to the graph: the graph toolkit has no Sin/Cos ops. They depend only on the
 * token grid, so a caller computes them once per image size.
 */
import type { Graph, Tensor } from '../graph/graph.ts';

/** Angular frequency of each channel pair of one axis: theta^(-2j/dim), j = 0..dim/2-1. */
export function axisFrequencies(dim: number, theta: number): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, j) => theta ** ((-2 * j) / dim));
}

/** cos and sin of every rotation angle: [N, D/2] row-major, axes in order, as the reference concatenates them. */
export interface RotaryTableData {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/** ids [N, axes] row-major (float positions) -> rotation tables for head dimension sum(axesDim). */
export function rotaryTables(ids: Float32Array, axesDim: readonly number[], theta: number): RotaryTableData {
  const axes = axesDim.length;
  const tokens = ids.length / axes;
  const pairs = axesDim.reduce((a, d) => a + d / 2, 0);
  const cos = new Float32Array(tokens * pairs);
  const sin = new Float32Array(tokens * pairs);
  const frequencies = axesDim.map((d) => axisFrequencies(d, theta));
  for (let n = 0; n < tokens; n++) {
    let at = n * pairs;
    frequencies.forEach((omega, axis) => {
      const position = ids[n * axes + axis]!;
      for (const w of omega) {
        cos[at] = Math.cos(position * w);
        sin[at] = Math.sin(position * w);
        at++;
      }
    });
  }
  return { cos, sin };
}

/** The tables as graph tensors, shaped [B, 1, N, D/2, 1] to broadcast over heads and pairs. */
export interface RotaryTables {
  readonly cos: Tensor;
  readonly sin: Tensor;
}

/** [B, N, D/2] table inputs -> broadcastable tables. */
export function rotaryFromInputs(g: Graph, cos: Tensor, sin: Tensor): RotaryTables {
  const shape = (t: Tensor) => g.unsqueeze(t, [1, 4]);
  return { cos: shape(cos), sin: shape(sin) };
}

/** Rotates each channel pair (x0, x1) of x [B, H, N, D] by its angle: (c x0 - s x1, s x0 + c x1). */
export function applyRope(g: Graph, x: Tensor, pe: RotaryTables): Tensor {
  const [b, h, n, d] = x.shape as [number, number, number, number];
  const [x0, x1] = g.split(g.reshape(x, [b, h, n, d / 2, 2]), [1, 1], -1) as [Tensor, Tensor];
  const r0 = g.sub(g.mul(pe.cos, x0), g.mul(pe.sin, x1));
  const r1 = g.add(g.mul(pe.sin, x0), g.mul(pe.cos, x1));
  return g.reshape(g.concat([r0, r1], -1), [b, h, n, d]);
}

/**
 * Position ids as the reference sampler builds them: image token (row i, column j) of an
 * h x w token grid gets (0, i, j); text tokens get (0, 0, 0). Returned as [N, 3] row-major.
 */
export function imagePositionIds(height: number, width: number): Float32Array {
  const ids = new Float32Array(height * width * 3);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const at = (i * width + j) * 3;
      ids[at + 1] = i;
      ids[at + 2] = j;
    }
  }
  return ids;
}

export function textPositionIds(tokens: number): Float32Array {
  return new Float32Array(tokens * 3);
}
