import { afterAll, describe, expect, it } from 'vitest';
import { type CheckCase, gradcheck, tolerance } from './gradcheck.ts';

/**
 * Every gradient rule against central finite differences. float64 wherever onnxruntime's CPU
 * kernels run double; Conv, Resize, Erf and the erf form of Gelu only run float32.
 */
const cases: Record<string, CheckCase> = {
  'Add (broadcast [2,3,4] + [3,1])': {
    dtype: 'float64',
    inputs: { a: [2, 3, 4], b: [3, 1] },
    build: (g, x) => g.add(x.a!, x.b!),
  },
  'Sub (broadcast [4] - [2,3,4])': {
    dtype: 'float64',
    inputs: { a: [4], b: [2, 3, 4] },
    build: (g, x) => g.sub(x.a!, x.b!),
  },
  'Mul (broadcast [2,1,4] * [3,1])': {
    dtype: 'float64',
    inputs: { a: [2, 1, 4], b: [3, 1] },
    build: (g, x) => g.mul(x.a!, x.b!),
  },
  'Div (broadcast [2,3] / [3])': {
    dtype: 'float64',
    inputs: { a: [2, 3], b: [3] },
    positive: true,
    build: (g, x) => g.div(x.a!, x.b!),
  },
  Neg: { dtype: 'float64', inputs: { x: [5] }, build: (g, x) => g.neg(x.x!) },
  'Pow (constant exponent 3)': { dtype: 'float64', inputs: { x: [2, 3] }, build: (g, x) => g.pow(x.x!, 3) },
  'Pow (constant exponent -1.5)': {
    dtype: 'float64',
    inputs: { x: [6] },
    positive: true,
    build: (g, x) => g.pow(x.x!, -1.5),
  },
  'Pow (tensor exponent, broadcast)': {
    dtype: 'float64',
    inputs: { x: [2, 3], p: [3] },
    positive: true,
    build: (g, x) => g.pow(x.x!, x.p!),
  },
  Sqrt: { dtype: 'float64', inputs: { x: [7] }, positive: true, build: (g, x) => g.sqrt(x.x!) },
  Exp: { dtype: 'float64', inputs: { x: [7] }, build: (g, x) => g.exp(x.x!) },
  Log: { dtype: 'float64', inputs: { x: [7] }, positive: true, build: (g, x) => g.log(x.x!) },
  'Sin (3x: about two periods)': {
    dtype: 'float64',
    inputs: { x: [9] },
    build: (g, x) => g.sin(g.mul(x.x!, 3)),
  },
  'Cos (3x: about two periods)': {
    dtype: 'float64',
    inputs: { x: [9] },
    build: (g, x) => g.cos(g.mul(x.x!, 3)),
  },
  Abs: { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.abs(x.x!) },
  Tanh: { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.tanh(x.x!) },
  Sigmoid: { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.sigmoid(x.x!) },
  'SiLU (x * sigmoid(x))': { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.silu(x.x!) },
  Relu: { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.relu(x.x!) },
  'Erf (float32)': { dtype: 'float32', inputs: { x: [9] }, build: (g, x) => g.erf(x.x!) },
  'Gelu erf form (float32)': { dtype: 'float32', inputs: { x: [9] }, build: (g, x) => g.gelu(x.x!) },
  'Gelu tanh form': { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.gelu(x.x!, 'tanh') },
  'MatMul [2,3,4] x [4,5]': {
    dtype: 'float64',
    inputs: { a: [2, 3, 4], b: [4, 5] },
    build: (g, x) => g.matmul(x.a!, x.b!),
  },
  'MatMul batch broadcast [2,1,3,4] x [3,4,2]': {
    dtype: 'float64',
    inputs: { a: [2, 1, 3, 4], b: [3, 4, 2] },
    build: (g, x) => g.matmul(x.a!, x.b!),
  },
  'Gemm (plain, C broadcast [5])': {
    dtype: 'float64',
    inputs: { a: [3, 4], b: [4, 5], c: [5] },
    build: (g, x) => g.gemm(x.a!, x.b!, x.c!, { alpha: 0.7, beta: -1.3 }),
  },
  'Gemm (transA, transB)': {
    dtype: 'float64',
    inputs: { a: [4, 3], b: [5, 4], c: [3, 1] },
    build: (g, x) => g.gemm(x.a!, x.b!, x.c!, { transA: true, transB: true, alpha: 2 }),
  },
  'Gemm (transB only)': {
    dtype: 'float64',
    inputs: { a: [3, 4], b: [5, 4] },
    build: (g, x) => g.gemm(x.a!, x.b!, undefined, { transB: true }),
  },
  'Softmax (last axis)': { dtype: 'float64', inputs: { x: [2, 3, 5] }, build: (g, x) => g.softmax(x.x!) },
  'Softmax (axis 1)': { dtype: 'float64', inputs: { x: [2, 4, 3] }, build: (g, x) => g.softmax(x.x!, 1) },
  'LayerNormalization (last axis, scale and bias)': {
    dtype: 'float64',
    inputs: { x: [2, 3, 6], s: [6], b: [6] },
    build: (g, x) => g.layerNorm(x.x!, x.s!, x.b!),
  },
  'LayerNormalization (axis 1, broadcast scale, float32 saved stats)': {
    dtype: 'float32',
    inputs: { x: [2, 3, 4], s: [1, 4] },
    build: (g, x) => g.layerNorm(x.x!, x.s!, undefined, { axis: 1, epsilon: 1e-3 }),
  },
  'LayerNormalization (built without its statistics outputs)': {
    dtype: 'float32',
    inputs: { x: [3, 5], s: [5], b: [5] },
    build: (g, x) =>
      g.op('LayerNormalization', [x.x!, x.s!, x.b!], { axis: -1, epsilon: { float: 1e-5 } })[0]!,
  },
  'RMSNormalization (last axis)': {
    dtype: 'float64',
    inputs: { x: [3, 8], s: [8] },
    build: (g, x) => g.rmsNorm(x.x!, x.s!),
  },
  'RMSNormalization (axis 1, broadcast scale)': {
    dtype: 'float64',
    inputs: { x: [2, 3, 4], s: [1, 4] },
    build: (g, x) => g.op('RMSNormalization', [x.x!, x.s!], { axis: 1, epsilon: { float: 1e-3 } })[0]!,
  },
  'GroupNormalization (decomposed)': {
    dtype: 'float64',
    inputs: { x: [2, 6, 3, 2], s: [6], b: [6] },
    build: (g, x) => g.groupNorm(x.x!, 3, x.s!, x.b!),
  },
  'ReduceMean (axis 1, no keepdims)': {
    dtype: 'float64',
    inputs: { x: [2, 3, 4] },
    build: (g, x) => g.reduceMean(x.x!, [1], false),
  },
  'ReduceSum (axes 0 and -1, keepdims)': {
    dtype: 'float64',
    inputs: { x: [2, 3, 4] },
    build: (g, x) => g.reduceSum(x.x!, [0, -1]),
  },
  Reshape: {
    dtype: 'float64',
    inputs: { x: [2, 3, 4] },
    build: (g, x) => g.mul(g.reshape(x.x!, [4, -1]), g.reshape(x.x!, [4, 6])),
  },
  Transpose: { dtype: 'float64', inputs: { x: [2, 3, 4] }, build: (g, x) => g.transpose(x.x!, [2, 0, 1]) },
  'Concat (3 inputs, axis 1)': {
    dtype: 'float64',
    inputs: { a: [2, 1, 3], b: [2, 4, 3], c: [2, 2, 3] },
    build: (g, x) => g.concat([x.a!, x.b!, x.c!], 1),
  },
  'Split (one output unused)': {
    dtype: 'float64',
    inputs: { x: [2, 7] },
    build: (g, x) => {
      const [first, , third] = g.split(x.x!, [2, 3, 2], 1);
      return g.mul(first!, third!);
    },
  },
  'Slice (step 1, two axes)': {
    dtype: 'float64',
    inputs: { x: [4, 6] },
    build: (g, x) => g.slice(x.x!, [1, -5], [3, 5], [0, 1]),
  },
  'Slice (step 2 and step -2)': {
    dtype: 'float64',
    inputs: { x: [5, 7] },
    build: (g, x) => g.slice(x.x!, [0, 6], [5, 0], [0, 1], [2, -2]),
  },
  'Gather (axis 1, repeated and negative indices)': {
    dtype: 'float64',
    inputs: { x: [2, 5, 3] },
    build: (g, x) => g.gather(x.x!, g.constant([0, 4, -1, 2, 0, 0], 'int64', [2, 3]), 1),
  },
  Unsqueeze: { dtype: 'float64', inputs: { x: [2, 3] }, build: (g, x) => g.unsqueeze(x.x!, [0, 2]) },
  Squeeze: { dtype: 'float64', inputs: { x: [2, 1, 3] }, build: (g, x) => g.squeeze(x.x!, [1]) },
  Expand: { dtype: 'float64', inputs: { x: [3, 1] }, build: (g, x) => g.expand(x.x!, [2, 3, 4]) },
  'Where (broadcast)': {
    dtype: 'float64',
    inputs: { c: [2, 3], a: [3], b: [2, 1] },
    wrt: ['a', 'b'],
    build: (g, x) => g.where(g.greater(x.c!, 0), x.a!, x.b!),
  },
  'Cast (float32 -> float64 -> float32)': {
    dtype: 'float32',
    inputs: { x: [5] },
    build: (g, x) => g.cast(g.mul(g.cast(x.x!, 'float64'), g.cast(x.x!, 'float64')), 'float32'),
  },
  'Pad (used by Slice gradients)': {
    dtype: 'float64',
    inputs: { x: [2, 3] },
    build: (g, x) => g.op('Pad', [x.x!, g.ints([1, 0, 2, 1])])[0]!,
  },
  'Conv (stride 2, pad 1, bias)': {
    dtype: 'float32',
    inputs: { x: [2, 3, 5, 6], w: [4, 3, 3, 3], b: [4] },
    build: (g, x) => g.conv(x.x!, x.w!, x.b!, { strides: [2, 2], pads: [1, 1, 1, 1] }),
  },
  'Conv (2 groups, dilation 2, asymmetric pads)': {
    dtype: 'float32',
    inputs: { x: [1, 4, 7, 6], w: [6, 2, 2, 3] },
    build: (g, x) => g.conv(x.x!, x.w!, undefined, { group: 2, dilations: [2, 1], pads: [0, 1, 1, 0] }),
  },
  'Conv (built with ONNX default attributes)': {
    dtype: 'float32',
    inputs: { x: [1, 2, 4, 4], w: [3, 2, 2, 2] },
    build: (g, x) => g.op('Conv', [x.x!, x.w!])[0]!,
  },
  'Resize nearest (upsample x2 / x1.5)': {
    dtype: 'float32',
    inputs: { x: [1, 2, 3, 4] },
    build: (g, x) => g.resize(x.x!, [1, 2, 6, 6], 'nearest'),
  },
  'Resize linear (half_pixel up, down)': {
    dtype: 'float32',
    inputs: { x: [1, 2, 4, 6] },
    build: (g, x) => g.resize(x.x!, [1, 2, 7, 4], 'linear'),
  },
  'Resize linear (align_corners)': {
    dtype: 'float32',
    inputs: { x: [1, 1, 3, 5] },
    build: (g, x) => g.resize(x.x!, [1, 1, 5, 9], 'linear', 'align_corners'),
  },
  'Resize nearest (asymmetric, downsample)': {
    dtype: 'float32',
    inputs: { x: [1, 1, 6, 5] },
    build: (g, x) => g.resize(x.x!, [1, 1, 3, 2], 'nearest', 'asymmetric'),
  },
  'GridSample (bilinear, border; grid reaching past the border)': {
    dtype: 'float64',
    inputs: { x: [2, 3, 4, 5], grid: [2, 3, 4, 2] },
    build: (g, x) => g.gridSample(x.x!, g.mul(x.grid!, 0.6)),
  },
  'GridSample (align_corners)': {
    dtype: 'float64',
    inputs: { x: [1, 2, 5, 4], grid: [1, 6, 2, 2] },
    build: (g, x) => g.gridSample(x.x!, g.mul(x.grid!, 0.6), true),
  },
  Clip: { dtype: 'float64', inputs: { x: [9] }, build: (g, x) => g.clip(x.x!, -0.5, 1) },
  'RotaryEmbedding (interleaved pairs, per-token tables)': {
    dtype: 'float32',
    inputs: { x: [1, 2, 3, 6], angle: [1, 3, 3] },
    wrt: ['x'],
    build: (g, x) =>
      g.op('RotaryEmbedding', [x.x!, g.cos(x.angle!), g.sin(x.angle!)], { interleaved: 1 })[0]!,
  },
};

describe('gradient rules match central finite differences', () => {
  const worst = { float32: 0, float64: 0 };
  const counted = { float32: 0, float64: 0 };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const result = await gradcheck(c);
      expect(result.checks).toBe(2 * (c.wrt ?? Object.keys(c.inputs)).length);
      expect(result.maxRelativeError).toBeLessThanOrEqual(tolerance(c.dtype));
      worst[c.dtype] = Math.max(worst[c.dtype], result.maxRelativeError);
      counted[c.dtype]++;
    });
  }
  afterAll(() => {
    console.info(
      `figures gradient rules: ${counted.float64} float64 cases, worst relative error ${worst.float64.toExponential(2)}; ` +
        `${counted.float32} float32 cases, worst ${worst.float32.toExponential(2)}`,
    );
  });
});
