/**
 * One local vector-Jacobian rule per op. A rule receives the node (inputs and forward outputs,
 * reused rather than recomputed), the gradient of its first output `dy` (and `dys` for all
 * outputs), and returns one thunk per input; autodiff calls only the thunks whose input needs a
 * gradient, so gradients nobody asked for are never built.
 */
import { attentionGradients, rotaryEmbeddingGradient } from './attention-gradient.ts';
import { GraphError } from './errors.ts';
import type { Graph, Node, Tensor } from './graph.ts';
import { gridSampleGradients } from './grid-sample-gradient.ts';
import { constInts, floatAttr, intAttr, intsAttr, nodeLabel, sliceRange, stringAttr } from './ops.ts';
import { interpolationMatrix } from './resize-matrix.ts';
import { invertPermutation, normalizeAxis } from './shape.ts';

export interface RuleContext {
  g: Graph;
  node: Node;
  dy: Tensor;
  dys: readonly (Tensor | undefined)[];
}

type Thunk = (() => Tensor) | undefined;
export type GradientRule = (c: RuleContext) => Thunk[];

/** Sums `dy` over the axes numpy broadcasting expanded, giving `like`'s shape. */
export function unbroadcast(g: Graph, dy: Tensor, like: Tensor): Tensor {
  const lead = dy.rank - like.rank;
  const axes = dy.shape.flatMap((d, i) => (i < lead || (like.shape[i - lead] === 1 && d !== 1) ? [i] : []));
  const summed = axes.length ? g.reduceSum(dy, axes) : dy;
  return summed.rank === like.rank ? summed : g.reshape(summed, like.shape);
}

function zeros(g: Graph, t: Tensor): Tensor {
  return g.expand(g.scalar(0, t.dtype), t.shape);
}

/** Swaps the last two axes (matrix transpose of a batch of matrices). */
function transposeLast(g: Graph, t: Tensor): Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [t.rank - 1, t.rank - 2];
  return g.transpose(t, perm);
}

/** Evaluates `make` at most once (shared subexpressions of several input gradients). */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

function inputs(node: Node): Tensor[] {
  return node.inputs as Tensor[];
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** Standard normal density times x plus CDF: d/dx of x * Phi(x). */
function geluErfDerivative(g: Graph, x: Tensor): Tensor {
  const cdf = g.mul(g.add(g.erf(g.mul(x, Math.SQRT1_2)), 1), 0.5);
  const density = g.mul(g.exp(g.mul(g.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return g.add(cdf, g.mul(x, density));
}

/** d/dx of 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
function geluTanhDerivative(g: Graph, x: Tensor): Tensor {
  const x2 = g.mul(x, x);
  const t = g.tanh(g.mul(g.mul(x, g.add(g.mul(x2, GELU_CUBIC), 1)), SQRT_2_OVER_PI));
  const dInner = g.mul(g.add(g.mul(x2, 3 * GELU_CUBIC), 1), SQRT_2_OVER_PI);
  const sech2 = g.sub(1, g.mul(t, t));
  return g.mul(g.add(g.add(t, 1), g.mul(g.mul(x, sech2), dInner)), 0.5);
}

/** Per-axis (begin, count, step) of a Slice node, for its gradient. */
function sliceAxes(node: Node): { axis: number; begin: number; count: number; step: number }[] {
  const x = node.inputs[0]!;
  const starts = constInts(node, 1);
  const ends = constInts(node, 2);
  const axes = node.inputs[3] ? constInts(node, 3) : starts.map((_, i) => i);
  const steps = node.inputs[4] ? constInts(node, 4) : starts.map(() => 1);
  return axes.map((a, i) => {
    const axis = normalizeAxis(a, x.rank)!;
    const step = steps[i]!;
    return { axis, step, ...sliceRange(x.shape[axis]!, starts[i]!, ends[i]!, step) };
  });
}

/**
 * Gradient of Slice: put each picked element back at its index, zeros elsewhere. Per axis: undo a
 * negative step by reversing, spread a step > 1 by interleaving zeros, then pad to the input size.
 */
function unslice(g: Graph, dy: Tensor, x: Tensor, node: Node): Tensor {
  let t = dy;
  for (const { axis, begin, count, step } of sliceAxes(node)) {
    const dim = x.shape[axis]!;
    if (count === 0) return zeros(g, x);
    let first = begin;
    let stride = step;
    if (step < 0) {
      t = g.slice(t, [-1], [-count - 1], [axis], [-1]);
      first = begin + step * (count - 1);
      stride = -step;
    }
    if (stride > 1) {
      const spread = g.unsqueeze(t, [axis + 1]);
      const gap = g.expand(
        g.scalar(0, t.dtype),
        spread.shape.map((d, i) => (i === axis + 1 ? stride - 1 : d)),
      );
      t = g.reshape(
        g.concat([spread, gap], axis + 1),
        t.shape.map((d, i) => (i === axis ? d * stride : d)),
      );
      t = g.slice(t, [0], [(count - 1) * stride + 1], [axis]);
    }
    const pads = new Array<number>(2 * t.rank).fill(0);
    pads[axis] = first;
    pads[axis + t.rank] = dim - first - t.shape[axis]!;
    t = g.op('Pad', [t, g.ints(pads)])[0]!;
  }
  return t;
}

/** Gradient of Gather: scatter-add dy rows back to their (possibly repeated) indices. */
function ungather(g: Graph, dy: Tensor, x: Tensor, indices: Tensor, axis: number): Tensor {
  const dim = x.shape[axis]!;
  const idx = g.cast(indices, 'int64');
  const wrapped = g.where(g.less(idx, 0), g.add(idx, dim), idx);
  // Bring the indexed axis to the front of x, and the index dims to the front of dy.
  const xPerm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
  const ir = indices.rank;
  const dyPerm = [
    ...Array.from({ length: ir }, (_, i) => axis + i),
    ...Array.from({ length: axis }, (_, i) => i),
    ...Array.from({ length: dy.rank - axis - ir }, (_, i) => axis + ir + i),
  ];
  const target = g.expand(
    g.scalar(0, x.dtype),
    xPerm.map((p) => x.shape[p]!),
  );
  const scattered = g.op('ScatterND', [target, g.unsqueeze(wrapped, [-1]), g.transpose(dy, dyPerm)], {
    reduction: 'add',
  })[0]!;
  return g.transpose(scattered, invertPermutation(xPerm));
}

/** Conv's strides, dilations and pads with ONNX defaults filled in. */
function convGeometry(node: Node): {
  strides: readonly number[];
  dilations: readonly number[];
  pads: readonly number[];
} {
  const spatial = node.inputs[0]!.rank - 2;
  return {
    strides: intsAttr(node, 'strides') ?? new Array(spatial).fill(1),
    dilations: intsAttr(node, 'dilations') ?? new Array(spatial).fill(1),
    pads: intsAttr(node, 'pads') ?? new Array(2 * spatial).fill(0),
  };
}

/** Gradient of Conv with respect to its weight, one group at a time. */
function convWeightGradient(g: Graph, dy: Tensor, x: Tensor, w: Tensor, node: Node): Tensor {
  const group = intAttr(node, 'group', 1);
  const spatial = x.rank - 2;
  const { strides, dilations, pads } = convGeometry(node);
  const kernel = w.shape.slice(2);
  const toFront = [1, 0, ...Array.from({ length: spatial }, (_, i) => i + 2)];
  const xs = group === 1 ? [x] : g.split(x, new Array(group).fill(x.shape[1]! / group), 1);
  const dys = group === 1 ? [dy] : g.split(dy, new Array(group).fill(dy.shape[1]! / group), 1);
  // Correlating x (channels as batch) with dy (output channels as filters) sums over the batch;
  // stride and dilation swap roles.
  const perGroup = xs.map((xg, i) => {
    const full = g.op('Conv', [g.transpose(xg, toFront), g.transpose(dys[i]!, toFront)], {
      kernel_shape: dy.shape.slice(2),
      strides: dilations,
      dilations: strides,
      pads,
      group: 1,
    })[0]!;
    const cropped = g.slice(
      full,
      kernel.map(() => 0),
      kernel,
      kernel.map((_, k) => k + 2),
    );
    return g.transpose(cropped, toFront);
  });
  return perGroup.length === 1 ? perGroup[0]! : g.concat(perGroup, 0);
}

function convInputGradient(g: Graph, dy: Tensor, x: Tensor, w: Tensor, node: Node): Tensor {
  const { strides, dilations, pads } = convGeometry(node);
  const spatial = x.rank - 2;
  // ConvTranspose maps back onto the input grid; output_padding recovers rows a stride skipped.
  const outputPadding = x.shape.slice(2).map((d, i) => {
    const covered = strides[i]! * (dy.shape[i + 2]! - 1) + (w.shape[i + 2]! - 1) * dilations[i]! + 1;
    return d - (covered - pads[i]! - pads[i + spatial]!);
  });
  return g.op('ConvTranspose', [dy, w], {
    strides,
    dilations,
    pads,
    group: intAttr(node, 'group', 1),
    output_padding: outputPadding,
  })[0]!;
}

/** Resize is linear and separable: its gradient applies each axis' interpolation matrix transposed. */
function unresize(g: Graph, dy: Tensor, x: Tensor, node: Node): Tensor {
  const mode = stringAttr(node, 'mode', 'nearest');
  const coordinates = stringAttr(node, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = stringAttr(node, 'nearest_mode', 'round_prefer_floor');
  const supported =
    ['half_pixel', 'asymmetric', 'align_corners'].includes(coordinates) &&
    (mode === 'linear' || (mode === 'nearest' && nearestMode === 'floor'));
  if (!supported) {
    throw new GraphError(
      'no_gradient_rule',
      nodeLabel(node.op, node.name),
      `no gradient for mode '${mode}' (nearest_mode '${nearestMode}') with '${coordinates}' coordinates`,
    );
  }
  let t = dy;
  for (let axis = 0; axis < x.rank; axis++) {
    const from = x.shape[axis]!;
    const to = dy.shape[axis]!;
    const matrix = interpolationMatrix(from, to, mode as 'nearest' | 'linear', coordinates);
    if (matrix === undefined) continue;
    const perm = t.shape.map((_, i) => i);
    [perm[axis], perm[t.rank - 1]] = [t.rank - 1, axis];
    // Built in the gradient's dtype (rounded once here): no float64 in float32 graphs.
    const m =
      t.dtype === 'float64'
        ? g.constant(matrix, 'float64', [to, from])
        : g.constant(Array.from(matrix), t.dtype, [to, from]);
    const moved = g.matmul(g.transpose(t, perm), m);
    t = g.transpose(moved, perm);
  }
  return t;
}

/**
 * Input gradient of a normalization y = xhat * scale, xhat = (x - [mean]) * r, over `axes`:
 * dx = r (dxhat - [mean(dxhat)] - xhat mean(dxhat xhat)), with dxhat = dy * scale.
 */
function normalizedInputGradient(
  g: Graph,
  dxhat: Tensor,
  xhat: Tensor,
  r: Tensor,
  axes: number[],
  centered: boolean,
): Tensor {
  const projected = g.sub(dxhat, g.mul(xhat, g.reduceMean(g.mul(dxhat, xhat), axes)));
  return g.mul(centered ? g.sub(projected, g.reduceMean(dxhat, axes)) : projected, r);
}

function normalizedAxes(node: Node): number[] {
  const x = node.inputs[0]!;
  const axis = normalizeAxis(intAttr(node, 'axis', -1), x.rank)!;
  return x.shape.slice(axis).map((_, i) => axis + i);
}

/**
 * A normalization's arithmetic in `compute` (float32 for 16-bit inputs, as its statistics are):
 * `up` widens a tensor to it, `down` returns a result to the input's dtype.
 */
function normalizationPrecision(g: Graph, x: Tensor) {
  const compute = x.dtype === 'float64' ? 'float64' : 'float32';
  return {
    up: (t: Tensor) => (t.dtype === compute ? t : g.cast(t, compute)),
    down: (t: Tensor, like: Tensor) => (t.dtype === like.dtype ? t : g.cast(t, like.dtype)),
  };
}

function layerNormGradients(c: RuleContext): Thunk[] {
  const { g, node, dy, dys } = c;
  if (dys[1] || dys[2]) {
    throw new GraphError(
      'no_gradient_rule',
      nodeLabel(node.op, node.name),
      'no gradient through Mean/InvStdDev outputs',
    );
  }
  const [x, scale, bias] = inputs(node) as [Tensor, Tensor, Tensor | undefined];
  const axes = normalizedAxes(node);
  const { up, down } = normalizationPrecision(g, x);
  // Saved statistics are float32 (stash_type): float64 graphs, and nodes built without the
  // statistics outputs, recompute them.
  const statistics = lazy(() => {
    if (x.dtype !== 'float64' && node.outputs.length === 3) {
      const inverseStd = node.outputs[2]!;
      return { inverseStd, xhat: g.mul(g.sub(up(x), node.outputs[1]!), inverseStd) };
    }
    const centered = g.sub(up(x), g.reduceMean(up(x), axes));
    const variance = g.reduceMean(g.mul(centered, centered), axes);
    const inverseStd = g.div(1, g.sqrt(g.add(variance, floatAttr(node, 'epsilon', 1e-5))));
    return { inverseStd, xhat: g.mul(centered, inverseStd) };
  });
  return [
    () =>
      down(
        normalizedInputGradient(
          g,
          g.mul(up(dy), up(scale)),
          statistics().xhat,
          statistics().inverseStd,
          axes,
          true,
        ),
        x,
      ),
    () => down(unbroadcast(g, g.mul(up(dy), statistics().xhat), scale), scale),
    bias && (() => unbroadcast(g, dy, bias)),
  ];
}

function rmsNormGradients(c: RuleContext): Thunk[] {
  const { g, node, dy } = c;
  const [x, scale] = inputs(node) as [Tensor, Tensor];
  const axes = normalizedAxes(node);
  const { up, down } = normalizationPrecision(g, x);
  const inverseRms = lazy(() =>
    g.div(1, g.sqrt(g.add(g.reduceMean(g.mul(up(x), up(x)), axes), floatAttr(node, 'epsilon', 1e-5)))),
  );
  const xhat = lazy(() => g.mul(up(x), inverseRms()));
  return [
    () => down(normalizedInputGradient(g, g.mul(up(dy), up(scale)), xhat(), inverseRms(), axes, false), x),
    () => down(unbroadcast(g, g.mul(up(dy), xhat()), scale), scale),
  ];
}

/** The rule table. Ops missing here are forward-only; differentiating through them fails at build time. */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  Identity: ({ dy }) => [() => dy],
  Add: ({ g, node, dy }) => {
    const [a, b] = inputs(node) as [Tensor, Tensor];
    return [() => unbroadcast(g, dy, a), () => unbroadcast(g, dy, b)];
  },
  Sub: ({ g, node, dy }) => {
    const [a, b] = inputs(node) as [Tensor, Tensor];
    return [() => unbroadcast(g, dy, a), () => unbroadcast(g, g.neg(dy), b)];
  },
  Mul: ({ g, node, dy }) => {
    const [a, b] = inputs(node) as [Tensor, Tensor];
    return [() => unbroadcast(g, g.mul(dy, b), a), () => unbroadcast(g, g.mul(dy, a), b)];
  },
  Div: ({ g, node, dy }) => {
    const [a, b] = inputs(node) as [Tensor, Tensor];
    const y = node.outputs[0]!;
    return [() => unbroadcast(g, g.div(dy, b), a), () => unbroadcast(g, g.neg(g.div(g.mul(dy, y), b)), b)];
  },
  Neg: ({ g, dy }) => [() => g.neg(dy)],
  Pow: ({ g, node, dy }) => {
    const [x, p] = inputs(node) as [Tensor, Tensor];
    const y = node.outputs[0]!;
    return [
      () => unbroadcast(g, g.mul(dy, g.mul(g.pow(x, g.sub(p, 1)), p)), x),
      () => unbroadcast(g, g.mul(dy, g.mul(y, g.log(x))), p),
    ];
  },
  Sqrt: ({ g, node, dy }) => [() => g.div(g.mul(dy, 0.5), node.outputs[0]!)],
  Exp: ({ g, node, dy }) => [() => g.mul(dy, node.outputs[0]!)],
  Log: ({ g, node, dy }) => [() => g.div(dy, node.inputs[0]!)],
  Sin: ({ g, node, dy }) => [() => g.mul(dy, g.cos(node.inputs[0]!))],
  Cos: ({ g, node, dy }) => [() => g.neg(g.mul(dy, g.sin(node.inputs[0]!)))],
  Abs: ({ g, node, dy }) => [() => g.mul(dy, g.sign(node.inputs[0]!))],
  Tanh: ({ g, node, dy }) => {
    const y = node.outputs[0]!;
    return [() => g.mul(dy, g.sub(1, g.mul(y, y)))];
  },
  Sigmoid: ({ g, node, dy }) => {
    const y = node.outputs[0]!;
    return [() => g.mul(dy, g.mul(y, g.sub(1, y)))];
  },
  Relu: ({ g, node, dy }) => [() => g.where(g.greater(node.inputs[0]!, 0), dy, 0)],
  Erf: ({ g, node, dy }) => {
    const x = node.inputs[0]!;
    return [() => g.mul(dy, g.mul(g.exp(g.neg(g.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  Gelu: ({ g, node, dy }) => {
    const x = node.inputs[0]!;
    const tanhForm = stringAttr(node, 'approximate', 'none') === 'tanh';
    return [() => g.mul(dy, tanhForm ? geluTanhDerivative(g, x) : geluErfDerivative(g, x))];
  },
  MatMul: ({ g, node, dy }) => {
    const [a, b] = inputs(node) as [Tensor, Tensor];
    return [
      () => unbroadcast(g, g.matmul(dy, transposeLast(g, b)), a),
      () => unbroadcast(g, g.matmul(transposeLast(g, a), dy), b),
    ];
  },
  Gemm: ({ g, node, dy }) => {
    const [a, b, c] = inputs(node) as [Tensor, Tensor, Tensor | undefined];
    const transA = intAttr(node, 'transA', 0) === 1;
    const transB = intAttr(node, 'transB', 0) === 1;
    const alpha = floatAttr(node, 'alpha', 1);
    return [
      () =>
        transA
          ? g.gemm(b, dy, undefined, { transA: transB, transB: true, alpha })
          : g.gemm(dy, b, undefined, { transB: !transB, alpha }),
      () =>
        transB
          ? g.gemm(dy, a, undefined, { transA: true, transB: transA, alpha })
          : g.gemm(a, dy, undefined, { transA: !transA, alpha }),
      c && (() => unbroadcast(g, g.mul(dy, floatAttr(node, 'beta', 1)), c)),
    ];
  },
  Softmax: ({ g, node, dy }) => {
    const y = node.outputs[0]!;
    const axis = intAttr(node, 'axis', -1);
    return [() => g.mul(y, g.sub(dy, g.reduceSum(g.mul(dy, y), [axis])))];
  },
  LayerNormalization: layerNormGradients,
  RMSNormalization: rmsNormGradients,
  Attention: ({ g, node, dy }) => {
    const { dq, dk, dv } = attentionGradients(g, node, dy);
    return [dq, dk, dv];
  },
  RotaryEmbedding: ({ g, node, dy }) => [() => rotaryEmbeddingGradient(g, node, dy)],
  ReduceSum: ({ g, node, dy }) => {
    const x = node.inputs[0]!;
    return [() => g.expand(g.reshape(dy, keptShape(node)), x.shape)];
  },
  ReduceMean: ({ g, node, dy }) => {
    const x = node.inputs[0]!;
    const count = x.size / node.outputs[0]!.size;
    return [() => g.expand(g.reshape(g.mul(dy, 1 / count), keptShape(node)), x.shape)];
  },
  Reshape: ({ g, node, dy }) => [() => g.reshape(dy, node.inputs[0]!.shape)],
  Unsqueeze: ({ g, node, dy }) => [() => g.reshape(dy, node.inputs[0]!.shape)],
  Squeeze: ({ g, node, dy }) => [() => g.reshape(dy, node.inputs[0]!.shape)],
  Transpose: ({ g, node, dy }) => {
    const x = node.inputs[0]!;
    const perm = intsAttr(node, 'perm') ?? x.shape.map((_, i) => x.rank - 1 - i);
    return [() => g.transpose(dy, invertPermutation(perm))];
  },
  Concat: ({ g, node, dy }) => {
    const xs = inputs(node);
    const axis = normalizeAxis(intAttr(node, 'axis', 0), dy.rank)!;
    const pieces = lazy(() =>
      g.split(
        dy,
        xs.map((t) => t.shape[axis]!),
        axis,
      ),
    );
    return xs.map((_, i) => () => pieces()[i]!);
  },
  Split: ({ g, node, dys }) => {
    const axis = intAttr(node, 'axis', 0);
    return [
      () =>
        g.concat(
          node.outputs.map((o, i) => dys[i] ?? zeros(g, o)),
          axis,
        ),
    ];
  },
  Slice: ({ g, node, dy }) => [() => unslice(g, dy, node.inputs[0]!, node)],
  Pad: ({ g, node, dy }) => {
    const x = node.inputs[0]!;
    const pads = constInts(node, 1);
    return [
      () =>
        g.slice(
          dy,
          pads.slice(0, x.rank),
          x.shape.map((d, i) => pads[i]! + d),
        ),
    ];
  },
  Gather: ({ g, node, dy }) => {
    const [x, indices] = inputs(node) as [Tensor, Tensor];
    return [() => ungather(g, dy, x, indices, normalizeAxis(intAttr(node, 'axis', 0), x.rank)!)];
  },
  Expand: ({ g, node, dy }) => [() => unbroadcast(g, dy, node.inputs[0]!)],
  Where: ({ g, node, dy }) => {
    const [condition, a, b] = inputs(node) as [Tensor, Tensor, Tensor];
    return [
      undefined,
      () => unbroadcast(g, g.where(condition, dy, 0), a),
      () => unbroadcast(g, g.where(condition, 0, dy), b),
    ];
  },
  Cast: ({ g, node, dy }) => [() => g.cast(dy, node.inputs[0]!.dtype)],
  Conv: ({ g, node, dy }) => {
    const [x, w, b] = inputs(node) as [Tensor, Tensor, Tensor | undefined];
    const spatialAxes = dy.shape.slice(2).map((_, i) => i + 2);
    return [
      () => convInputGradient(g, dy, x, w, node),
      () => convWeightGradient(g, dy, x, w, node),
      b && (() => g.reduceSum(dy, [0, ...spatialAxes], false)),
    ];
  },
  Resize: ({ g, node, dy }) => [() => unresize(g, dy, node.inputs[0]!, node)],
  GridSample: ({ g, node, dy }) => {
    const [x, grid] = inputs(node) as [Tensor, Tensor];
    if (
      stringAttr(node, 'mode', 'linear') !== 'linear' ||
      stringAttr(node, 'padding_mode', 'zeros') !== 'border'
    ) {
      throw new GraphError(
        'no_gradient_rule',
        nodeLabel(node.op, node.name),
        'gradient only for bilinear, border padding',
      );
    }
    const { dx, dgrid } = gridSampleGradients(g, x, grid, dy, intAttr(node, 'align_corners', 0) === 1);
    return [dx, dgrid];
  },
  Clip: ({ g, node, dy }) => {
    const [x, min, max] = node.inputs as [Tensor, Tensor | undefined, Tensor | undefined];
    const belowMax = max ? g.where(g.less(x, max), dy, 0) : dy;
    return [() => (min ? g.where(g.greater(x, min), belowMax, 0) : belowMax)];
  },
};

/** The reduced output's shape with reduced axes kept as 1 (for broadcasting dy back). */
function keptShape(node: Node): number[] {
  const x = node.inputs[0]!;
  const axes = node.inputs[1]
    ? constInts(node, 1).map((a) => normalizeAxis(a, x.rank)!)
    : x.shape.map((_, i) => i);
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
