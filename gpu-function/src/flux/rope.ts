/**
 * Rotary position embedding over three position axes (EmbedND in the reference): each axis
 * rotates its own slice of every head's channels, pairing channels (2j, 2j+1).
 *
 * The rotation angles are computed in the graph from the position ids, in float64 as the
 * reference does, and only the cos/sin tables are rounded to float32.
 */
import type { Graph, Tensor } from '../graph/graph.ts';

/** Axes of every position id: (0, row, column) for image tokens, as the reference builds them. */
export const POSITION_AXES = 3;

/** cos and sin of every rotation angle, shaped [B, 1, N, D/2, 1] to broadcast over heads and pairs. */
export interface RotaryTables {
  readonly cos: Tensor;
  readonly sin: Tensor;
}

/** Angular frequency of each channel pair of one axis: theta^(-2j/dim), j = 0..dim/2-1 (float64). */
function axisFrequencies(g: Graph, dim: number, theta: number): Tensor {
  const evenChannels = g.constant(
    Float64Array.from({ length: dim / 2 }, (_, j) => 2 * j),
    'float64',
  );
  return g.div(1, g.pow(g.scalar(theta, 'float64'), g.div(evenChannels, dim)));
}

/**
 * ids [B, N, axes] (float positions) -> rotation tables for head dimension sum(axesDim): the
 * angles of axis i are ids[..., i] times that axis's frequencies, axes concatenated in order.
 */
export function embedPositions(
  g: Graph,
  ids: Tensor,
  axesDim: readonly number[],
  theta: number,
): RotaryTables {
  const positions = g.cast(ids, 'float64');
  const angles = g.concat(
    axesDim.map((dim, axis) =>
      g.mul(g.slice(positions, [axis], [axis + 1], [2]), axisFrequencies(g, dim, theta)),
    ),
    -1,
  );
  const table = (values: Tensor) => g.unsqueeze(g.cast(values, 'float32'), [1, 4]);
  return { cos: table(g.cos(angles)), sin: table(g.sin(angles)) };
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
