/**
 * The vector-Jacobian product of GridSample (bilinear, border padding) as ONNX ops. Each output
 * pixel mixes four input pixels; its gradient scatters dy back to those four with the bilinear
 * weights (dX) and differentiates the weights with respect to the sampling position (dGrid).
 */
import type { Graph, Tensor } from './graph.ts';

interface Axis {
  /** Position in pixels, clamped to the border. */
  low: Tensor;
  high: Tensor;
  /** Weight of the high neighbour (the low one has 1 - frac). */
  frac: Tensor;
  /** d(position)/d(grid coordinate): zero where the border clamp is active. */
  slope: Tensor;
}

/** Grid coordinate in [-1, 1] -> clamped pixel position, as onnxruntime's GridSample computes it. */
function sampleAxis(g: Graph, coordinate: Tensor, size: number, alignCorners: boolean): Axis {
  const position = alignCorners
    ? g.mul(g.add(coordinate, 1), (size - 1) / 2)
    : g.div(g.sub(g.mul(g.add(coordinate, 1), size), 1), 2);
  const clamped = g.clip(position, 0, size - 1);
  const lowFloat = g.floor(clamped);
  const slope = g.scalar(alignCorners ? (size - 1) / 2 : size / 2, coordinate.dtype);
  const inside = g.where(g.greater(position, 0), g.where(g.less(position, size - 1), slope, 0), 0);
  return {
    low: g.cast(lowFloat, 'int64'),
    high: g.cast(g.clip(g.add(lowFloat, 1), 0, size - 1), 'int64'),
    frac: g.sub(clamped, lowFloat),
    slope: inside,
  };
}

export function gridSampleGradients(
  g: Graph,
  x: Tensor,
  grid: Tensor,
  dy: Tensor,
  alignCorners: boolean,
): { dx: () => Tensor; dgrid: () => Tensor } {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const pixels = grid.shape[1]! * grid.shape[2]!;
  const [gridX, gridY] = g.split(grid, [1, 1], 3).map((t) => g.reshape(t, [n, 1, pixels]));
  const ax = sampleAxis(g, gridX!, w, alignCorners);
  const ay = sampleAxis(g, gridY!, h, alignCorners);
  const flatIndex = (row: Tensor, column: Tensor) => g.expand(g.add(g.mul(row, w), column), [n, c, pixels]);
  const corners = {
    lowLow: flatIndex(ay.low, ax.low),
    lowHigh: flatIndex(ay.low, ax.high),
    highLow: flatIndex(ay.high, ax.low),
    highHigh: flatIndex(ay.high, ax.high),
  };
  const dyFlat = g.reshape(dy, [n, c, pixels]);
  const [wx0, wx1, wy0, wy1] = [g.sub(1, ax.frac), ax.frac, g.sub(1, ay.frac), ay.frac];

  const dx = () => {
    const indices = g.concat([corners.lowLow, corners.lowHigh, corners.highLow, corners.highHigh], 2);
    const updates = g.concat(
      [
        g.mul(dyFlat, g.mul(wy0, wx0)),
        g.mul(dyFlat, g.mul(wy0, wx1)),
        g.mul(dyFlat, g.mul(wy1, wx0)),
        g.mul(dyFlat, g.mul(wy1, wx1)),
      ],
      2,
    );
    const zeros = g.expand(g.scalar(0, x.dtype), [n, c, h * w]);
    const summed = g.op('ScatterElements', [zeros, indices, updates], { axis: 2, reduction: 'add' })[0]!;
    return g.reshape(summed, x.shape);
  };

  const dgrid = () => {
    const flat = g.reshape(x, [n, c, h * w]);
    const at = (index: Tensor) => g.op('GatherElements', [flat, index], { axis: 2 })[0]!;
    const [v00, v01, v10, v11] = [
      at(corners.lowLow),
      at(corners.lowHigh),
      at(corners.highLow),
      at(corners.highHigh),
    ];
    const alongX = g.add(g.mul(wy0, g.sub(v01, v00)), g.mul(wy1, g.sub(v11, v10)));
    const alongY = g.add(g.mul(wx0, g.sub(v10, v00)), g.mul(wx1, g.sub(v11, v01)));
    const perPixel = (slope: Tensor, along: Tensor) =>
      g.reshape(g.mul(g.reduceSum(g.mul(dyFlat, along), [1]), slope), [n, grid.shape[1]!, grid.shape[2]!, 1]);
    return g.concat([perPixel(ax.slope, alongX), perPixel(ay.slope, alongY)], 3);
  };
  return { dx, dgrid };
}
