/**
 * The graph builder: named inputs, params (initializers) and outputs, and one method per op,
 * each shape-checked when called. Shapes are concrete numbers: a graph is built per image size.
 */
import {
  arrayKindOf,
  bytesPerElement,
  type DType,
  onnxDataType,
  type TensorData,
  typedArrayOf,
} from './dtype.ts';
import { GraphError } from './errors.ts';
import { type Attrs, nodeLabel, opInference } from './ops.ts';
import { formatShape, sameShape, sizeOf } from './shape.ts';

/** ONNX external data: `location` is relative to the model file. */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

/**
 * Where a tensor is visible: the main graph (undefined) or a branch of an `If` (`ifThenElse`),
 * which also sees everything its enclosing scopes see.
 */
export interface Scope {
  readonly parent: Scope | undefined;
}

function encloses(outer: Scope | undefined, inner: Scope | undefined): boolean {
  for (let s = inner; s !== undefined; s = s.parent) if (s === outer) return true;
  return outer === undefined;
}

export class Tensor {
  /** @internal set by `Graph.define` for declared tensors; otherwise fixed at construction. */
  producer: Node | undefined;
  /**
   * Symbolic dimensions (ONNX dim_param) by axis, for inputs whose size the caller chooses per run
   * and for `If` outputs whose branches differ; `shape` then holds the size shape inference uses.
   */
  dimParams: readonly (string | undefined)[] | undefined;

  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly number[],
    producer: Node | undefined,
    /** Contents of a constant; shape inference reads axes and shapes from here. */
    readonly value?: TensorData,
    readonly scope?: Scope,
  ) {
    this.producer = producer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly (Tensor | undefined)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Attrs;
  /** The innermost `Graph.segment` the node was built in (rematerialization unit). */
  readonly segment: string | undefined;
  /** `If` only: the then and else branches. */
  readonly branches?: readonly [Branch, Branch];
}

/** One branch of an `If`: its nodes in build order and the tensors it returns. */
export interface Branch {
  readonly scope: Scope;
  readonly nodes: readonly Node[];
  readonly outputs: readonly Tensor[];
}

export interface InputOptions {
  /** Axes whose size each run chooses (serialized as named symbolic dimensions). */
  dynamicAxes?: readonly number[];
}

/** A graph initializer: a weight (param) or a small literal (constant). */
export interface Initializer {
  readonly kind: 'param' | 'constant';
  /** The tensor as stored, in its storage dtype. */
  readonly stored: Tensor;
  readonly data: TensorData | ExternalRef | undefined;
}

export interface ParamOptions {
  /** Storage dtype (e.g. bfloat16); the param is Cast to its compute dtype right after loading. */
  stored?: DType;
}

type Operand = Tensor | number;

export class Graph {
  readonly inputs: Tensor[] = [];
  readonly outputs: { name: string; tensor: Tensor }[] = [];
  readonly initializers: Initializer[] = [];
  readonly nodes: Node[] = [];
  private readonly names = new Set<string>();
  private readonly constantsByContent = new Map<string, Tensor>();
  private readonly declared = new Set<Tensor>();
  private segmentPath: string[] = [];
  private counter = 0;
  /** Written into the model's metadata_props (e.g. the dtype a graph computes in). */
  readonly metadata = new Map<string, string>();
  /** Open `ifThenElse` branches, innermost last, with the nodes built in each so far. */
  private readonly open: { scope: Scope; nodes: Node[] }[] = [];

  constructor(readonly name: string) {}

  // ---- values ------------------------------------------------------------------------------

  input(name: string, dtype: DType, shape: readonly number[], options: InputOptions = {}): Tensor {
    const t = new Tensor(
      this,
      this.claim(name, `input '${name}'`),
      dtype,
      checkShape(shape, name),
      undefined,
    );
    const dynamic = options.dynamicAxes ?? [];
    if (dynamic.some((axis) => !Number.isInteger(axis) || axis < 0 || axis >= shape.length)) {
      throw new GraphError('bad_attribute', `input '${name}'`, `dynamic axes [${dynamic}] out of range`);
    }
    if (dynamic.length) t.dimParams = shape.map((_, i) => (dynamic.includes(i) ? `${name}_${i}` : undefined));
    this.inputs.push(t);
    return t;
  }

  /**
   * A weight. `data` may be in memory, an external-data reference, or absent (shape-only graphs
   * can be built and checked without weights, but not serialized).
   */
  param(
    name: string,
    dtype: DType,
    shape: readonly number[],
    data?: TensorData | ExternalRef,
    options: ParamOptions = {},
  ): Tensor {
    const storedDtype = options.stored ?? dtype;
    const stored = new Tensor(
      this,
      this.claim(name, `param '${name}'`),
      storedDtype,
      checkShape(shape, name),
      undefined,
    );
    checkData(stored, data);
    this.initializers.push({ kind: 'param', stored, data });
    return storedDtype === dtype ? stored : this.cast(stored, dtype);
  }

  /** A literal; identical literals are stored once. */
  constant(
    values: readonly number[] | TensorData,
    dtype: DType,
    shape: readonly number[] = [values.length],
  ): Tensor {
    const data = ArrayBuffer.isView(values) ? values : typedArrayOf(dtype, values);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const key = `${dtype}|${shape.join(',')}|${bytes.toString('base64')}`;
    const existing = this.constantsByContent.get(key);
    if (existing) return existing;
    const t = new Tensor(
      this,
      this.claim(this.autoName('const'), 'constant'),
      dtype,
      checkShape(shape, 'constant'),
      undefined,
      data,
    );
    checkData(t, data);
    this.initializers.push({ kind: 'constant', stored: t, data });
    this.constantsByContent.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType): Tensor {
    return this.constant([value], dtype, []);
  }

  /** A 1-D int64 constant (axes, shapes, indices). */
  ints(values: readonly number[]): Tensor {
    return this.constant(values, 'int64');
  }

  output(name: string, tensor: Tensor): void {
    if (this.open.length)
      throw new GraphError('bad_attribute', `output '${name}'`, 'outputs belong to the main graph');
    this.own(tensor, `output '${name}'`);
    const t = tensor.name === name ? tensor : this.op('Identity', [tensor], {}, 1, name)[0]!;
    this.outputs.push({ name, tensor: t });
  }

  /** A tensor used before it is computed; `define` must give it a value before serialization. */
  declare(name: string, dtype: DType, shape: readonly number[]): Tensor {
    const t = new Tensor(
      this,
      this.claim(name, `declared '${name}'`),
      dtype,
      checkShape(shape, name),
      undefined,
    );
    this.declared.add(t);
    return t;
  }

  define(declared: Tensor, value: Tensor): void {
    const where = `define '${declared.name}'`;
    if (!this.declared.has(declared)) throw new GraphError('bad_attribute', where, 'not a declared tensor');
    if (declared.producer) throw new GraphError('duplicate_name', where, 'already defined');
    if (declared.dtype !== value.dtype) {
      throw new GraphError('dtype_mismatch', where, `declared ${declared.dtype}, given ${value.dtype}`);
    }
    if (!sameShape(declared.shape, value.shape)) {
      throw new GraphError(
        'shape_mismatch',
        where,
        `declared ${formatShape(declared.shape)}, given ${formatShape(value.shape)}`,
      );
    }
    this.own(value, where);
    if (this.open.length)
      throw new GraphError('bad_attribute', where, 'declared tensors belong to the main graph');
    const node: Node = {
      op: 'Identity',
      name: this.autoName('Identity'),
      inputs: [value],
      outputs: [declared],
      attrs: {},
      segment: this.currentSegment(),
    };
    declared.producer = node;
    this.nodes.push(node);
  }

  /**
   * ONNX If: runs `thenBody` when the bool scalar `condition` is true, else `elseBody`; both return
   * the same number of tensors with the same dtypes and ranks. Nodes built inside a body belong to
   * it (its tensors are not visible outside); bodies see every tensor of the enclosing scopes, and
   * weights are shared, not copied. Where the branches' shapes differ the output's dimension is
   * symbolic (only graph outputs may read such a tensor).
   */
  ifThenElse(condition: Tensor, thenBody: () => Tensor[], elseBody: () => Tensor[]): Tensor[] {
    const name = this.autoName('If');
    const where = nodeLabel('If', name);
    this.own(condition, where);
    if (condition.dtype !== 'bool' || condition.size !== 1) {
      throw new GraphError('dtype_mismatch', where, `condition '${condition.name}' must be one bool`);
    }
    const branches = [this.branch(thenBody), this.branch(elseBody)] as const;
    const [a, b] = branches;
    if (a.outputs.length !== b.outputs.length || a.outputs.length === 0) {
      throw new GraphError(
        'shape_mismatch',
        where,
        `branches return ${a.outputs.length} and ${b.outputs.length} tensors`,
      );
    }
    const outputs: Tensor[] = [];
    const node: Node = {
      op: 'If',
      name,
      inputs: [condition],
      outputs,
      attrs: {},
      segment: this.currentSegment(),
      branches,
    };
    a.outputs.forEach((x, i) => {
      const y = b.outputs[i]!;
      if (x.dtype !== y.dtype || x.rank !== y.rank) {
        throw new GraphError(
          'dtype_mismatch',
          where,
          `output ${i}: then gives ${x.dtype}${formatShape(x.shape)}, else ${y.dtype}${formatShape(y.shape)}`,
        );
      }
      const shape = x.shape.map((d, axis) => Math.max(d, y.shape[axis]!));
      const out = new Tensor(
        this,
        this.claim(`${name}.${i}`, where),
        x.dtype,
        shape,
        node,
        undefined,
        this.scope(),
      );
      if (!sameShape(x.shape, y.shape)) {
        out.dimParams = shape.map((_, axis) =>
          x.shape[axis] === y.shape[axis] ? undefined : `${name}_${i}_${axis}`,
        );
      }
      outputs.push(out);
    });
    this.sink().push(node);
    return outputs;
  }

  /** Nodes whose outputs the current scope can read, in an order where inputs come first. */
  visibleNodes(): Node[] {
    return [...this.topologicalNodes(), ...this.open.flatMap((b) => b.nodes)];
  }

  private branch(body: () => Tensor[]): Branch {
    const scope: Scope = { parent: this.scope() };
    const frame = { scope, nodes: [] as Node[] };
    this.open.push(frame);
    try {
      // Every branch output is produced inside the branch (ONNX subgraph outputs name their own values).
      const outputs = body().map((t) => this.op('Identity', [t])[0]!);
      return { scope, nodes: frame.nodes, outputs };
    } finally {
      this.open.pop();
    }
  }

  private scope(): Scope | undefined {
    return this.open.at(-1)?.scope;
  }

  private sink(): Node[] {
    return this.open.at(-1)?.nodes ?? this.nodes;
  }

  /** Builds `body` inside a named segment: node names get the prefix; the segment can be rematerialized. */
  segment<T>(name: string, body: () => T): T {
    this.segmentPath.push(name);
    try {
      return body();
    } finally {
      this.segmentPath.pop();
    }
  }

  // ---- the generic op ------------------------------------------------------------------------

  /** Appends one node; shape inference runs now and names this node if it fails. */
  op(
    opType: string,
    inputs: readonly (Tensor | undefined)[],
    attrs: Attrs = {},
    outputCount = 1,
    outputName?: string,
  ): Tensor[] {
    const name = this.autoName(opType);
    const infer = opInference[opType];
    if (!infer)
      throw new GraphError(
        'unknown_op',
        nodeLabel(opType, name),
        `'${opType}' is not an op this builder knows`,
      );
    for (const t of inputs) if (t) this.own(t, nodeLabel(opType, name));
    const types = infer({ op: opType, name, inputs, attrs }).slice(0, outputCount);
    const outputs: Tensor[] = [];
    // Absent trailing optional inputs are dropped: onnxruntime crashes on a trailing '' input.
    const present = inputs.slice(0, inputs.findLastIndex((t) => t !== undefined) + 1);
    const node: Node = { op: opType, name, inputs: present, outputs, attrs, segment: this.currentSegment() };
    types.forEach((type, i) => {
      const outName = outputName ?? (types.length === 1 ? name : `${name}.${i}`);
      outputs.push(
        new Tensor(
          this,
          this.claim(outName, nodeLabel(opType, name)),
          type.dtype,
          type.shape,
          node,
          undefined,
          this.scope(),
        ),
      );
    });
    // Elementwise copies keep a symbolic size (graph outputs read If results through Identity).
    if ((opType === 'Identity' || opType === 'Cast') && inputs[0]?.dimParams) {
      outputs[0]!.dimParams = inputs[0].dimParams;
    }
    this.sink().push(node);
    return outputs;
  }

  private op1(opType: string, inputs: readonly (Tensor | undefined)[], attrs: Attrs = {}): Tensor {
    return this.op(opType, inputs, attrs)[0]!;
  }

  /** Binary ops accept a number for either side: it becomes a scalar of the other side's dtype. */
  private binary(opType: string, a: Operand, b: Operand): Tensor {
    return this.op1(opType, this.liftPair(opType, a, b));
  }

  private liftPair(opType: string, a: Operand, b: Operand): [Tensor, Tensor] {
    if (typeof a === 'number' && typeof b === 'number') {
      throw new GraphError(
        'dtype_mismatch',
        opType,
        'at least one operand must be a tensor (to give the dtype)',
      );
    }
    const dtype = typeof a === 'number' ? (b as Tensor).dtype : (a as Tensor).dtype;
    const lift = (v: Operand) => (typeof v === 'number' ? this.scalar(v, dtype) : v);
    return [lift(a), lift(b)];
  }

  // ---- elementwise ---------------------------------------------------------------------------

  add(a: Operand, b: Operand): Tensor {
    return this.binary('Add', a, b);
  }
  sub(a: Operand, b: Operand): Tensor {
    return this.binary('Sub', a, b);
  }
  mul(a: Operand, b: Operand): Tensor {
    return this.binary('Mul', a, b);
  }
  div(a: Operand, b: Operand): Tensor {
    return this.binary('Div', a, b);
  }
  pow(x: Tensor, exponent: Operand): Tensor {
    return this.binary('Pow', x, exponent);
  }
  greater(a: Operand, b: Operand): Tensor {
    return this.binary('Greater', a, b);
  }
  less(a: Operand, b: Operand): Tensor {
    return this.binary('Less', a, b);
  }
  equal(a: Operand, b: Operand): Tensor {
    return this.binary('Equal', a, b);
  }
  neg(x: Tensor): Tensor {
    return this.op1('Neg', [x]);
  }
  sqrt(x: Tensor): Tensor {
    return this.op1('Sqrt', [x]);
  }
  exp(x: Tensor): Tensor {
    return this.op1('Exp', [x]);
  }
  log(x: Tensor): Tensor {
    return this.op1('Log', [x]);
  }
  abs(x: Tensor): Tensor {
    return this.op1('Abs', [x]);
  }
  sign(x: Tensor): Tensor {
    return this.op1('Sign', [x]);
  }
  sin(x: Tensor): Tensor {
    return this.op1('Sin', [x]);
  }
  cos(x: Tensor): Tensor {
    return this.op1('Cos', [x]);
  }
  tanh(x: Tensor): Tensor {
    return this.op1('Tanh', [x]);
  }
  sigmoid(x: Tensor): Tensor {
    return this.op1('Sigmoid', [x]);
  }
  relu(x: Tensor): Tensor {
    return this.op1('Relu', [x]);
  }
  erf(x: Tensor): Tensor {
    return this.op1('Erf', [x]);
  }
  /** GELU; `approximate: 'tanh'` is the tanh form FLUX's MLPs use. */
  gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
    return this.op1('Gelu', [x], { approximate });
  }
  /** SiLU (swish): x * sigmoid(x). */
  silu(x: Tensor): Tensor {
    return this.mul(x, this.sigmoid(x));
  }
  where(condition: Tensor, a: Operand, b: Operand): Tensor {
    const [liftedA, liftedB] = this.liftPair('Where', a, b);
    return this.op1('Where', [condition, liftedA, liftedB]);
  }
  floor(x: Tensor): Tensor {
    return this.op1('Floor', [x]);
  }
  /** Clamps to [min, max] (scalars of x's dtype). */
  clip(x: Tensor, min: number, max: number): Tensor {
    return this.op1('Clip', [x, this.scalar(min, x.dtype), this.scalar(max, x.dtype)]);
  }
  cast(x: Tensor, to: DType): Tensor {
    return this.op1('Cast', [x], { to: onnxDataType[to] });
  }

  // ---- linear algebra ------------------------------------------------------------------------

  /** numpy matmul for operands of rank >= 2 (batch dims broadcast). */
  matmul(a: Tensor, b: Tensor): Tensor {
    return this.op1('MatMul', [a, b]);
  }

  gemm(
    a: Tensor,
    b: Tensor,
    c?: Tensor,
    options: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
  ): Tensor {
    return this.op1('Gemm', [a, b, c], {
      transA: options.transA ? 1 : 0,
      transB: options.transB ? 1 : 0,
      alpha: { float: options.alpha ?? 1 },
      beta: { float: options.beta ?? 1 },
    });
  }

  /**
   * `x @ weight^T + bias` with a torch-layout weight [out, in] (as in the reference checkpoints), as
   * one Gemm(transB) over the rows of x: the weight is read as stored, and so is it by the input
   * gradient (Gemm without transB), so no transposed copy of a weight ever exists.
   */
  linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
    const [out, inner] = weight.shape as [number, number];
    const rows = x.rank === 2 ? x : this.reshape(x, [x.size / inner, inner]);
    const y = this.gemm(rows, weight, bias, { transB: true });
    return x.rank === 2 ? y : this.reshape(y, [...x.shape.slice(0, -1), out]);
  }

  // ---- normalization -------------------------------------------------------------------------

  softmax(x: Tensor, axis = -1): Tensor {
    return this.op1('Softmax', [x], { axis });
  }

  /** LayerNormalization over the dims from `axis` on (default: the last). Statistics are kept for the backward pass. */
  layerNorm(
    x: Tensor,
    scale: Tensor,
    bias?: Tensor,
    options: { axis?: number; epsilon?: number } = {},
  ): Tensor {
    const attrs = { axis: options.axis ?? -1, epsilon: { float: options.epsilon ?? 1e-5 } };
    return this.op('LayerNormalization', [x, scale, bias], attrs, 3)[0]!;
  }

  /** RMSNormalization (opset 23) over the last dim: x / sqrt(mean(x^2) + eps) * scale. */
  rmsNorm(x: Tensor, scale: Tensor, epsilon = 1e-6): Tensor {
    return this.op1('RMSNormalization', [x, scale], { axis: -1, epsilon: { float: epsilon } });
  }

  /** GroupNormalization of [N, C, ...] as primitive ops; scale and bias are per channel [C]. */
  groupNorm(x: Tensor, groups: number, scale: Tensor, bias: Tensor, epsilon = 1e-5): Tensor {
    const [n, c] = x.shape as [number, number];
    const grouped = this.reshape(x, [n, groups, -1]);
    const centered = this.sub(grouped, this.reduceMean(grouped, [-1]));
    const variance = this.reduceMean(this.mul(centered, centered), [-1]);
    const normalized = this.reshape(this.div(centered, this.sqrt(this.add(variance, epsilon))), x.shape);
    const perChannel = [c, ...x.shape.slice(2).map(() => 1)];
    return this.add(this.mul(normalized, this.reshape(scale, perChannel)), this.reshape(bias, perChannel));
  }

  // ---- reductions and shape ------------------------------------------------------------------

  reduceMean(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
    return this.op1('ReduceMean', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceSum(x: Tensor, axes: readonly number[], keepdims = true): Tensor {
    return this.op1('ReduceSum', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  /** int64 index of the first maximum along `axis`. */
  argMax(x: Tensor, axis: number, keepdims = true): Tensor {
    return this.op1('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0, select_last_index: 0 });
  }

  /** Reshape; one dim may be -1 (resolved here, so the model holds concrete shapes). */
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
    const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
    if (shape.filter((d) => d === -1).length > 1 || !resolved.every(Number.isInteger)) {
      throw new GraphError(
        'shape_mismatch',
        `Reshape of '${x.name}'`,
        `cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`,
      );
    }
    return this.op1('Reshape', [x, this.ints(resolved)]);
  }
  transpose(x: Tensor, perm: readonly number[]): Tensor {
    return this.op1('Transpose', [x], { perm });
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    return this.op1('Concat', xs, { axis });
  }
  split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
    return this.op('Split', [x, this.ints(sizes)], { axis }, sizes.length);
  }
  slice(
    x: Tensor,
    starts: readonly number[],
    ends: readonly number[],
    axes?: readonly number[],
    steps?: readonly number[],
  ): Tensor {
    const optional = (v?: readonly number[]) => (v ? this.ints(v) : undefined);
    return this.op1('Slice', [x, this.ints(starts), this.ints(ends), optional(axes), optional(steps)]);
  }
  gather(x: Tensor, indices: Tensor | readonly number[], axis = 0): Tensor {
    return this.op1('Gather', [x, Array.isArray(indices) ? this.ints(indices) : (indices as Tensor)], {
      axis,
    });
  }
  unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
    return this.op1('Unsqueeze', [x, this.ints(axes)]);
  }
  squeeze(x: Tensor, axes: readonly number[]): Tensor {
    return this.op1('Squeeze', [x, this.ints(axes)]);
  }
  expand(x: Tensor, shape: readonly number[]): Tensor {
    return this.op1('Expand', [x, this.ints(shape)]);
  }

  // ---- image ops -----------------------------------------------------------------------------

  conv(
    x: Tensor,
    weight: Tensor,
    bias?: Tensor,
    options: { strides?: number[]; pads?: number[]; dilations?: number[]; group?: number } = {},
  ): Tensor {
    const spatial = x.rank - 2;
    return this.op1('Conv', [x, weight, bias], {
      kernel_shape: weight.shape.slice(2),
      strides: options.strides ?? new Array(spatial).fill(1),
      pads: options.pads ?? new Array(2 * spatial).fill(0),
      dilations: options.dilations ?? new Array(spatial).fill(1),
      group: options.group ?? 1,
    });
  }

  /** Resize to `sizes` (full shape). `coordinates` is ONNX's coordinate_transformation_mode. */
  resize(
    x: Tensor,
    sizes: readonly number[],
    mode: 'nearest' | 'linear',
    coordinates: 'half_pixel' | 'asymmetric' | 'align_corners' = 'half_pixel',
  ): Tensor {
    const attrs: Record<string, string> = { mode, coordinate_transformation_mode: coordinates };
    if (mode === 'nearest') attrs.nearest_mode = 'floor';
    return this.op1('Resize', [x, undefined, undefined, this.ints(sizes)], attrs);
  }

  /** Bilinear GridSample with border padding; grid holds (x, y) in [-1, 1]. */
  gridSample(x: Tensor, grid: Tensor, alignCorners = false): Tensor {
    return this.op1('GridSample', [x, grid], {
      mode: 'linear',
      padding_mode: 'border',
      align_corners: alignCorners ? 1 : 0,
    });
  }

  // ---- structure -----------------------------------------------------------------------------

  /**
   * Nodes in an order where every input is computed first. Fails naming a node whose input is
   * never computed (dangling) or that depends on itself (cycle).
   */
  topologicalNodes(): Node[] {
    // Without declared tensors every input existed before its consumer: build order is topological.
    if (this.declared.size === 0) return [...this.nodes];
    const state = new Map<Node, 'visiting' | 'done'>();
    const order: Node[] = [];
    // Iterative depth-first search (graphs are deep): each frame is a node and its next input.
    const stack: { node: Node; next: number }[] = [];
    const enter = (node: Node) => {
      const s = state.get(node);
      if (s === 'done') return;
      if (s === 'visiting') {
        const path = stack.map((f) => f.node);
        const cycle = [...path.slice(path.indexOf(node)), node].map((n) => n.name).join(' -> ');
        throw new GraphError('cycle', nodeLabel(node.op, node.name), `depends on itself: ${cycle}`);
      }
      state.set(node, 'visiting');
      stack.push({ node, next: 0 });
    };
    for (const root of this.nodes) {
      enter(root);
      while (stack.length) {
        const frame = stack.at(-1)!;
        const t = frame.node.inputs[frame.next++];
        if (frame.next > frame.node.inputs.length) {
          stack.pop();
          state.set(frame.node, 'done');
          order.push(frame.node);
        } else if (t?.producer) {
          enter(t.producer);
        } else if (t && this.declared.has(t)) {
          const { op, name } = frame.node;
          throw new GraphError(
            'dangling_input',
            nodeLabel(op, name),
            `input '${t.name}' was declared but never defined`,
          );
        }
      }
    }
    return order;
  }

  private own(t: Tensor, where: string): void {
    if (t.graph !== this) {
      throw new GraphError(
        'foreign_tensor',
        where,
        `input '${t.name}' belongs to graph '${t.graph.name}', not '${this.name}'`,
      );
    }
    if (!encloses(t.scope, this.scope())) {
      throw new GraphError(
        'foreign_tensor',
        where,
        `'${t.name}' was built inside an If branch not enclosing this one`,
      );
    }
  }

  private claim(name: string, where: string): string {
    if (this.names.has(name))
      throw new GraphError('duplicate_name', where, `the name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  private currentSegment(): string | undefined {
    return this.segmentPath.length ? this.segmentPath.join('.') : undefined;
  }

  private autoName(base: string): string {
    const prefix = this.segmentPath.length ? `${this.segmentPath.join('.')}/` : '';
    return `${prefix}${base}_${this.counter++}`;
  }
}

function checkShape(shape: readonly number[], where: string): number[] {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new GraphError(
      'shape_mismatch',
      `'${where}'`,
      `shape ${formatShape(shape)} must be non-negative integers`,
    );
  }
  return [...shape];
}

function checkData(t: Tensor, data: TensorData | ExternalRef | undefined): void {
  if (data === undefined) return;
  const where = `initializer '${t.name}'`;
  if (!ArrayBuffer.isView(data)) {
    const expected = t.size * bytesPerElement[t.dtype];
    const { offset, length } = data;
    if (!Number.isSafeInteger(offset) || offset < 0 || length !== expected) {
      throw new GraphError(
        'shape_mismatch',
        where,
        `external data (offset ${offset}, length ${length}) must be ${expected} bytes at a non-negative offset for ${t.dtype}${formatShape(t.shape)}`,
      );
    }
    return;
  }
  if (data.constructor.name !== arrayKindOf(t.dtype)) {
    throw new GraphError(
      'dtype_mismatch',
      where,
      `${t.dtype} data must be a ${arrayKindOf(t.dtype)}, not ${data.constructor.name}`,
    );
  }
  if (data.length !== t.size) {
    throw new GraphError(
      'shape_mismatch',
      where,
      `${data.length} values given for shape ${formatShape(t.shape)}`,
    );
  }
}
