/**
 * The ONNX ops the builder may emit, each with its concrete shape and dtype inference.
 * Inference runs at build time, so a bad graph fails where it is built, naming the node.
 */
import { type DType, isFloat } from './dtype.ts';
import { GraphError, type GraphErrorCode } from './errors.ts';
import type { Tensor } from './graph.ts';
import { broadcastShapes, formatShape, normalizeAxis, sameShape, sizeOf } from './shape.ts';

/** Attribute values: a number is an ONNX INT, a number[] INTS, `{ float }` FLOAT, a string STRING. */
export type Attr = number | string | readonly number[] | { readonly float: number };
export type Attrs = Readonly<Record<string, Attr>>;

export interface TensorType {
  dtype: DType;
  shape: number[];
}

/** One op application as shape inference sees it; absent optional inputs are undefined. */
export interface OpCall {
  op: string;
  name: string;
  inputs: readonly (Tensor | undefined)[];
  attrs: Attrs;
}

type Infer = (call: OpCall) => TensorType[];

export function nodeLabel(op: string, name: string): string {
  return `${op} node '${name}'`;
}

export function fail(call: OpCall, code: GraphErrorCode, detail: string): never {
  throw new GraphError(code, nodeLabel(call.op, call.name), detail);
}

function input(call: OpCall, index: number): Tensor {
  const t = call.inputs[index];
  if (t === undefined) fail(call, 'bad_attribute', `input ${index} is required`);
  return t;
}

export function intAttr(call: { attrs: Attrs }, key: string, fallback: number): number {
  const v = call.attrs[key];
  return typeof v === 'number' ? v : fallback;
}

export function intsAttr(call: { attrs: Attrs }, key: string): readonly number[] | undefined {
  const v = call.attrs[key];
  return Array.isArray(v) ? (v as readonly number[]) : undefined;
}

export function floatAttr(call: { attrs: Attrs }, key: string, fallback: number): number {
  const v = call.attrs[key];
  return typeof v === 'object' && !Array.isArray(v) ? (v as { float: number }).float : fallback;
}

export function stringAttr(call: { attrs: Attrs }, key: string, fallback: string): string {
  const v = call.attrs[key];
  return typeof v === 'string' ? v : fallback;
}

/** The int64 values of a constant input (axes, shapes, starts...); build-time shapes need them. */
export function constInts(call: OpCall, index: number): number[] {
  const t = input(call, index);
  if (!(t.value instanceof BigInt64Array)) {
    fail(call, 'not_constant', `input ${index} ('${t.name}') must be an int64 constant`);
  }
  return Array.from(t.value, Number);
}

function axisOf(call: OpCall, axis: number, rank: number): number {
  const a = normalizeAxis(axis, rank);
  if (a === undefined) fail(call, 'bad_attribute', `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function sameDtype(call: OpCall, tensors: readonly Tensor[]): DType {
  const first = tensors[0]!;
  for (const t of tensors) {
    if (t.dtype !== first.dtype) {
      fail(call, 'dtype_mismatch', `input '${first.name}' is ${first.dtype} but '${t.name}' is ${t.dtype}`);
    }
  }
  return first.dtype;
}

function requireFloat(call: OpCall, t: Tensor): void {
  if (!isFloat(t.dtype)) fail(call, 'dtype_mismatch', `'${t.name}' is ${t.dtype}; a float type is required`);
}

function broadcastAll(call: OpCall, tensors: readonly Tensor[]): number[] {
  let shape: number[] = [];
  for (const t of tensors) {
    const next = broadcastShapes(shape, t.shape);
    if (next === undefined) {
      const shapes = tensors.map((x) => `'${x.name}' ${formatShape(x.shape)}`).join(', ');
      fail(call, 'shape_mismatch', `shapes do not broadcast: ${shapes}`);
    }
    shape = next;
  }
  return shape;
}

const unaryFloat: Infer = (call) => {
  const x = input(call, 0);
  requireFloat(call, x);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

const unaryAny: Infer = (call) => {
  const x = input(call, 0);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

const binaryArithmetic: Infer = (call) => {
  const ts = [input(call, 0), input(call, 1)];
  return [{ dtype: sameDtype(call, ts), shape: broadcastAll(call, ts) }];
};

const comparison: Infer = (call) => {
  const ts = [input(call, 0), input(call, 1)];
  sameDtype(call, ts);
  return [{ dtype: 'bool', shape: broadcastAll(call, ts) }];
};

const matMul: Infer = (call) => {
  const [a, b] = [input(call, 0), input(call, 1)];
  const dtype = sameDtype(call, [a, b]);
  if (a.rank < 2 || b.rank < 2) fail(call, 'shape_mismatch', 'both operands need rank >= 2');
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) {
    fail(
      call,
      'shape_mismatch',
      `inner dimensions differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}`,
    );
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (batch === undefined) {
    fail(
      call,
      'shape_mismatch',
      `batch dims do not broadcast: ${formatShape(a.shape)} x ${formatShape(b.shape)}`,
    );
  }
  return [{ dtype, shape: [...batch, m, n] }];
};

const gemm: Infer = (call) => {
  const [a, b, c] = [input(call, 0), input(call, 1), call.inputs[2]];
  const dtype = sameDtype(call, c ? [a, b, c] : [a, b]);
  if (a.rank !== 2 || b.rank !== 2) fail(call, 'shape_mismatch', 'Gemm operands must be 2-D');
  const [m, k] = intAttr(call, 'transA', 0) ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [k2, n] = intAttr(call, 'transB', 0) ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (k !== k2) fail(call, 'shape_mismatch', `inner dimensions differ: ${k} vs ${k2}`);
  if (c && !sameShape(broadcastShapes(c.shape, [m, n]) ?? [], [m, n])) {
    fail(call, 'shape_mismatch', `C ${formatShape(c.shape)} does not broadcast to [${m}, ${n}]`);
  }
  return [{ dtype, shape: [m, n] }];
};

const softmax: Infer = (call) => {
  const x = input(call, 0);
  requireFloat(call, x);
  axisOf(call, intAttr(call, 'axis', -1), x.rank);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

/** A per-feature parameter (norm scale, bias) must broadcast to the normalized dims without growing them. */
function requireBroadcastTo(call: OpCall, p: Tensor, normalized: readonly number[]): void {
  const b = broadcastShapes(p.shape, normalized);
  if (b === undefined || !sameShape(b, normalized) || p.rank > normalized.length) {
    fail(
      call,
      'shape_mismatch',
      `'${p.name}' ${formatShape(p.shape)} must broadcast to ${formatShape(normalized)}`,
    );
  }
}

const layerNormalization: Infer = (call) => {
  const x = input(call, 0);
  const scale = input(call, 1);
  const bias = call.inputs[2];
  requireFloat(call, x);
  sameDtype(call, bias ? [x, scale, bias] : [x, scale]);
  const axis = axisOf(call, intAttr(call, 'axis', -1), x.rank);
  for (const p of bias ? [scale, bias] : [scale]) requireBroadcastTo(call, p, x.shape.slice(axis));
  // Mean and InvStdDev keep the leading dims and are 1 over the normalized ones; stash_type
  // defaults to float32, so they are float32 even for float64 inputs.
  const stats = x.shape.map((d, i) => (i < axis ? d : 1));
  return [
    { dtype: x.dtype, shape: [...x.shape] },
    { dtype: 'float32', shape: stats },
    { dtype: 'float32', shape: [...stats] },
  ];
};

const rmsNormalization: Infer = (call) => {
  const x = input(call, 0);
  const scale = input(call, 1);
  requireFloat(call, x);
  sameDtype(call, [x, scale]);
  requireBroadcastTo(call, scale, x.shape.slice(axisOf(call, intAttr(call, 'axis', -1), x.rank)));
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

function reducedShape(call: OpCall, x: Tensor, axes: readonly number[], keepdims: boolean): number[] {
  const reduced = new Set(axes.map((a) => axisOf(call, a, x.rank)));
  return x.shape.flatMap((d, i) => (reduced.has(i) ? (keepdims ? [1] : []) : [d]));
}

const reduce: Infer = (call) => {
  const x = input(call, 0);
  const axes = call.inputs[1] ? constInts(call, 1) : x.shape.map((_, i) => i);
  return [{ dtype: x.dtype, shape: reducedShape(call, x, axes, intAttr(call, 'keepdims', 1) === 1) }];
};

const reshape: Infer = (call) => {
  const x = input(call, 0);
  const shape = constInts(call, 1);
  if (shape.some((d) => d < 0) || sizeOf(shape) !== x.size) {
    fail(call, 'shape_mismatch', `cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }
  return [{ dtype: x.dtype, shape }];
};

const transpose: Infer = (call) => {
  const x = input(call, 0);
  const perm = intsAttr(call, 'perm') ?? x.shape.map((_, i) => x.rank - 1 - i);
  const sorted = [...perm].sort((a, b) => a - b);
  if (!sorted.every((p, i) => p === i) || perm.length !== x.rank) {
    fail(call, 'bad_attribute', `perm ${formatShape(perm)} is not a permutation of rank ${x.rank}`);
  }
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
};

const concat: Infer = (call) => {
  const ts = call.inputs.map((_, i) => input(call, i));
  const dtype = sameDtype(call, ts);
  const first = ts[0]!;
  const axis = axisOf(call, intAttr(call, 'axis', 0), first.rank);
  let total = 0;
  for (const t of ts) {
    const same = t.rank === first.rank && t.shape.every((d, i) => i === axis || d === first.shape[i]);
    if (!same) {
      fail(
        call,
        'shape_mismatch',
        `'${t.name}' ${formatShape(t.shape)} does not match '${first.name}' ${formatShape(first.shape)} off axis ${axis}`,
      );
    }
    total += t.shape[axis]!;
  }
  return [{ dtype, shape: first.shape.map((d, i) => (i === axis ? total : d)) }];
};

const split: Infer = (call) => {
  const x = input(call, 0);
  const axis = axisOf(call, intAttr(call, 'axis', 0), x.rank);
  const sizes = constInts(call, 1);
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[axis] || sizes.some((s) => s < 0)) {
    fail(call, 'shape_mismatch', `split sizes ${formatShape(sizes)} do not add up to dim ${x.shape[axis]}`);
  }
  return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? s : d)) }));
};

/** Clamped start/end/step of one Slice axis, following the ONNX Slice definition. */
export function sliceRange(
  dim: number,
  start: number,
  end: number,
  step: number,
): { begin: number; count: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + dim : v);
  const begin = step > 0 ? clamp(norm(start), 0, dim) : clamp(norm(start), -1, dim - 1);
  const stop = step > 0 ? clamp(norm(end), 0, dim) : clamp(norm(end), -1, dim - 1);
  const count = Math.max(0, Math.ceil((stop - begin) / step));
  return { begin, count };
}

const slice: Infer = (call) => {
  const x = input(call, 0);
  const starts = constInts(call, 1);
  const ends = constInts(call, 2);
  const axes = call.inputs[3] ? constInts(call, 3) : starts.map((_, i) => i);
  const steps = call.inputs[4] ? constInts(call, 4) : starts.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const axis = axisOf(call, a, x.rank);
    const step = steps[i]!;
    if (step === 0) fail(call, 'bad_attribute', 'slice step 0');
    shape[axis] = sliceRange(x.shape[axis]!, starts[i]!, ends[i]!, step).count;
  });
  return [{ dtype: x.dtype, shape }];
};

const gather: Infer = (call) => {
  const [x, indices] = [input(call, 0), input(call, 1)];
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') {
    fail(call, 'dtype_mismatch', `indices '${indices.name}' must be int64 or int32, not ${indices.dtype}`);
  }
  const axis = axisOf(call, intAttr(call, 'axis', 0), x.rank);
  return [
    { dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)] },
  ];
};

const unsqueeze: Infer = (call) => {
  const x = input(call, 0);
  const axes = constInts(call, 1);
  const rank = x.rank + axes.length;
  const inserted = new Set(axes.map((a) => axisOf(call, a, rank)));
  const rest = [...x.shape];
  return [
    { dtype: x.dtype, shape: Array.from({ length: rank }, (_, i) => (inserted.has(i) ? 1 : rest.shift()!)) },
  ];
};

const squeeze: Infer = (call) => {
  const x = input(call, 0);
  const axes = constInts(call, 1).map((a) => axisOf(call, a, x.rank));
  for (const a of axes)
    if (x.shape[a] !== 1) fail(call, 'shape_mismatch', `axis ${a} has size ${x.shape[a]}, not 1`);
  return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
};

const expand: Infer = (call) => {
  const x = input(call, 0);
  const target = constInts(call, 1);
  const shape = broadcastShapes(x.shape, target);
  if (shape === undefined)
    fail(call, 'shape_mismatch', `cannot expand ${formatShape(x.shape)} to ${formatShape(target)}`);
  return [{ dtype: x.dtype, shape }];
};

const where: Infer = (call) => {
  const [c, a, b] = [input(call, 0), input(call, 1), input(call, 2)];
  if (c.dtype !== 'bool') fail(call, 'dtype_mismatch', `condition '${c.name}' must be bool, not ${c.dtype}`);
  return [{ dtype: sameDtype(call, [a, b]), shape: broadcastAll(call, [c, a, b]) }];
};

const dtypeByOnnxCode: Readonly<Record<number, DType>> = {
  1: 'float32',
  2: 'uint8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

const cast: Infer = (call) => {
  const x = input(call, 0);
  const to = dtypeByOnnxCode[intAttr(call, 'to', 0)];
  if (to === undefined) fail(call, 'bad_attribute', `unsupported Cast target ${intAttr(call, 'to', 0)}`);
  return [{ dtype: to, shape: [...x.shape] }];
};

/** Spatial output size of a convolution (forward) or transposed convolution. */
function convSpatial(
  call: OpCall,
  inputSpatial: readonly number[],
  kernel: readonly number[],
  transposed: boolean,
): number[] {
  const n = inputSpatial.length;
  const strides = intsAttr(call, 'strides') ?? new Array(n).fill(1);
  const dilations = intsAttr(call, 'dilations') ?? new Array(n).fill(1);
  const pads = intsAttr(call, 'pads') ?? new Array(2 * n).fill(0);
  const outputPadding = intsAttr(call, 'output_padding') ?? new Array(n).fill(0);
  return inputSpatial.map((d, i) => {
    const k = (kernel[i]! - 1) * dilations[i]! + 1;
    const padded = pads[i]! + pads[i + n]!;
    if (transposed) return strides[i]! * (d - 1) + outputPadding[i]! + k - padded;
    const out = Math.floor((d + padded - k) / strides[i]!) + 1;
    if (out < 1) fail(call, 'shape_mismatch', `kernel larger than padded input on spatial axis ${i}`);
    return out;
  });
}

const conv: Infer = (call) => {
  const [x, w, b] = [input(call, 0), input(call, 1), call.inputs[2]];
  const dtype = sameDtype(call, b ? [x, w, b] : [x, w]);
  const group = intAttr(call, 'group', 1);
  if (x.rank < 3 || w.rank !== x.rank)
    fail(call, 'shape_mismatch', 'Conv needs [N, C, ...] input and matching weight rank');
  if (x.shape[1] !== w.shape[1]! * group) {
    fail(
      call,
      'shape_mismatch',
      `input channels ${x.shape[1]} != weight ${formatShape(w.shape)} x group ${group}`,
    );
  }
  if (b && !sameShape(b.shape, [w.shape[0]!])) fail(call, 'shape_mismatch', `bias must be [${w.shape[0]}]`);
  return [
    {
      dtype,
      shape: [x.shape[0]!, w.shape[0]!, ...convSpatial(call, x.shape.slice(2), w.shape.slice(2), false)],
    },
  ];
};

const convTranspose: Infer = (call) => {
  const [x, w] = [input(call, 0), input(call, 1)];
  const dtype = sameDtype(call, [x, w]);
  const group = intAttr(call, 'group', 1);
  if (x.shape[1] !== w.shape[0])
    fail(call, 'shape_mismatch', `input channels ${x.shape[1]} != weight dim 0 ${w.shape[0]}`);
  return [
    {
      dtype,
      shape: [
        x.shape[0]!,
        w.shape[1]! * group,
        ...convSpatial(call, x.shape.slice(2), w.shape.slice(2), true),
      ],
    },
  ];
};

const pad: Infer = (call) => {
  const x = input(call, 0);
  const pads = constInts(call, 1);
  if (pads.length !== 2 * x.rank) fail(call, 'bad_attribute', `pads needs ${2 * x.rank} values`);
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => d + pads[i]! + pads[i + x.rank]!) }];
};

const scatterND: Infer = (call) => {
  const [data, indices, updates] = [input(call, 0), input(call, 1), input(call, 2)];
  sameDtype(call, [data, updates]);
  const k = indices.shape[indices.rank - 1]!;
  const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
  if (!sameShape(updates.shape, expected)) {
    fail(call, 'shape_mismatch', `updates ${formatShape(updates.shape)} must be ${formatShape(expected)}`);
  }
  return [{ dtype: data.dtype, shape: [...data.shape] }];
};

const resize: Infer = (call) => {
  const x = input(call, 0);
  const sizes = constInts(call, 3);
  if (sizes.length !== x.rank) fail(call, 'bad_attribute', `sizes needs ${x.rank} values`);
  return [{ dtype: x.dtype, shape: sizes }];
};

/** ArgMax along one axis: int64 indices (the first maximum: select_last_index 0). */
const argMax: Infer = (call) => {
  const x = input(call, 0);
  const axis = axisOf(call, intAttr(call, 'axis', 0), x.rank);
  return [{ dtype: 'int64', shape: reducedShape(call, x, [axis], intAttr(call, 'keepdims', 1) === 1) }];
};

const gatherElements: Infer = (call) => {
  const [x, indices] = [input(call, 0), input(call, 1)];
  if (indices.rank !== x.rank)
    fail(call, 'shape_mismatch', `indices rank ${indices.rank} != data rank ${x.rank}`);
  return [{ dtype: x.dtype, shape: [...indices.shape] }];
};

const scatterElements: Infer = (call) => {
  const [data, indices, updates] = [input(call, 0), input(call, 1), input(call, 2)];
  sameDtype(call, [data, updates]);
  if (!sameShape(indices.shape, updates.shape) || indices.rank !== data.rank) {
    fail(
      call,
      'shape_mismatch',
      `indices ${formatShape(indices.shape)} and updates ${formatShape(updates.shape)} must match, rank ${data.rank}`,
    );
  }
  return [{ dtype: data.dtype, shape: [...data.shape] }];
};

const gridSample: Infer = (call) => {
  const [x, grid] = [input(call, 0), input(call, 1)];
  const dtype = sameDtype(call, [x, grid]);
  if (x.rank !== 4 || grid.rank !== 4 || grid.shape[3] !== 2 || grid.shape[0] !== x.shape[0]) {
    fail(
      call,
      'shape_mismatch',
      `need X [N,C,H,W] and grid [N,Ho,Wo,2]; got ${formatShape(x.shape)}, ${formatShape(grid.shape)}`,
    );
  }
  return [{ dtype, shape: [x.shape[0]!, x.shape[1]!, grid.shape[1]!, grid.shape[2]!] }];
};

/** ONNX Attention (opset 23) on [B, H, S, D] queries, keys and values, without mask or cache. */
const attention: Infer = (call) => {
  const [q, k, v] = [input(call, 0), input(call, 1), input(call, 2)];
  const dtype = sameDtype(call, [q, k, v]);
  requireFloat(call, q);
  if (call.inputs.length > 3) fail(call, 'bad_attribute', 'masks and caches are not supported');
  const [b, h, , d] = q.shape as [number, number, number, number];
  const ok =
    q.rank === 4 &&
    k.rank === 4 &&
    v.rank === 4 &&
    sameShape(k.shape, v.shape) &&
    k.shape[0] === b &&
    k.shape[1] === h &&
    k.shape[3] === d;
  if (!ok) {
    fail(
      call,
      'shape_mismatch',
      `need Q [B,H,Sq,D] and K, V [B,H,Skv,D]; got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  }
  return [{ dtype, shape: [...q.shape] }];
};

/**
 * ONNX RotaryEmbedding (opset 23) of X [B, H, S, D] with per-token tables [B, S, D/2] (no
 * position ids); `interleaved` pairs channels (2j, 2j+1).
 */
const rotaryEmbedding: Infer = (call) => {
  const [x, cos, sin] = [input(call, 0), input(call, 1), input(call, 2)];
  sameDtype(call, [x, cos, sin]);
  requireFloat(call, x);
  const [b, , s, d] = x.shape as [number, number, number, number];
  const table = [b, s, d / 2];
  if (
    x.rank !== 4 ||
    call.inputs.length > 3 ||
    !sameShape(cos.shape, table) ||
    !sameShape(sin.shape, table)
  ) {
    fail(
      call,
      'shape_mismatch',
      `need X [B,H,S,D] and cos, sin ${formatShape(table)}; got ${formatShape(x.shape)}, ${formatShape(cos.shape)}, ${formatShape(sin.shape)}`,
    );
  }
  return [{ dtype: x.dtype, shape: [...x.shape] }];
};

/** Every op the builder can emit. `dragflow graph ops` lists these keys. */
export const opInference: Readonly<Record<string, Infer>> = {
  Abs: unaryAny,
  Add: binaryArithmetic,
  ArgMax: argMax,
  Attention: attention,
  Cast: cast,
  Clip: unaryAny,
  Concat: concat,
  Conv: conv,
  ConvTranspose: convTranspose,
  Cos: unaryFloat,
  Div: binaryArithmetic,
  Equal: comparison,
  Erf: unaryFloat,
  Exp: unaryFloat,
  Expand: expand,
  Floor: unaryFloat,
  Gather: gather,
  GatherElements: gatherElements,
  Gelu: unaryFloat,
  Gemm: gemm,
  Greater: comparison,
  GridSample: gridSample,
  Identity: unaryAny,
  LayerNormalization: layerNormalization,
  Less: comparison,
  Log: unaryFloat,
  MatMul: matMul,
  Mul: binaryArithmetic,
  Neg: unaryAny,
  Pad: pad,
  Pow: binaryArithmetic,
  ReduceMean: reduce,
  ReduceSum: reduce,
  Relu: unaryFloat,
  Reshape: reshape,
  Resize: resize,
  RMSNormalization: rmsNormalization,
  RotaryEmbedding: rotaryEmbedding,
  ScatterElements: scatterElements,
  ScatterND: scatterND,
  Sigmoid: unaryFloat,
  Sign: unaryAny,
  Sin: unaryFloat,
  Slice: slice,
  Softmax: softmax,
  Split: split,
  Sqrt: unaryFloat,
  Squeeze: squeeze,
  Sub: binaryArithmetic,
  Tanh: unaryFloat,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
  Where: where,
};
