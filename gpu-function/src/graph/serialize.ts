/**
 * ONNX serialization through protobufjs and the repo's own `onnx.proto` subset. Output is
 * byte-identical for identical graphs: nodes, initializers and value infos come in build order.
 */
import { onnxDataType, type TensorData, toLittleEndianBytes } from './dtype.ts';
import { GraphError } from './errors.ts';
import type { Branch, ExternalRef, Graph, Node, Tensor } from './graph.ts';
import { ModelProto } from './onnx-proto.ts';
import type { Attr } from './ops.ts';

/**
 * The default-domain opset we emit: 23, the first with Attention, RotaryEmbedding and
 * RMSNormalization, and the newest at which every op we emit resolves to a version onnxruntime
 * 1.30's CUDA provider registers (at 24 and later Cast, Reshape, Transpose, Squeeze, Unsqueeze,
 * Identity and If resolve to versions it may not: placement.ts checks every graph against the
 * table in cuda-kernels.ts). onnxruntime 1.30 loads opsets up to 26 and runs every op in
 * `opInference` on CPU at 23.
 */
export const OPSET = 23;
/** The newest IR version onnxruntime-node 1.30 accepts (14 is refused). */
export const IR_VERSION = 13;

const attributeType = { FLOAT: 1, INT: 2, STRING: 3, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

function attribute(name: string, value: Attr): object {
  if (typeof value === 'number') return { name, type: attributeType.INT, i: value };
  if (typeof value === 'string') return { name, type: attributeType.STRING, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: attributeType.INTS, ints: value };
  return { name, type: attributeType.FLOAT, f: (value as { float: number }).float };
}

function valueInfo(t: Tensor): object {
  const dims = t.shape.map((d, axis) => {
    const param = t.dimParams?.[axis];
    return param === undefined ? { dim_value: d } : { dim_param: param };
  });
  return { name: t.name, type: { tensor_type: { elem_type: onnxDataType[t.dtype], shape: { dim: dims } } } };
}

/**
 * Tensors whose size depends on a symbolic dimension (dynamic inputs, If outputs): their value
 * infos are left out, so onnxruntime infers them per run instead of trusting the build-time size.
 */
function dynamicCone(nodes: readonly Node[]): Set<Tensor> {
  const cone = new Set<Tensor>();
  const visit = (list: readonly Node[]) => {
    for (const n of list) {
      n.branches?.forEach((b) => {
        visit(b.nodes);
      });
      const dynamic = n.inputs.some((t) => t && (cone.has(t) || t.dimParams !== undefined));
      if (dynamic || n.outputs.some((t) => t.dimParams !== undefined)) for (const t of n.outputs) cone.add(t);
    }
  };
  visit(nodes);
  return cone;
}

function nodeProto(n: Node, cone: Set<Tensor>): object {
  const attrs = Object.entries(n.attrs).map(([k, v]) => attribute(k, v));
  if (n.branches) {
    const [thenBranch, elseBranch] = n.branches;
    attrs.push(
      { name: 'then_branch', type: attributeType.GRAPH, g: branchGraph(`${n.name}.then`, thenBranch, cone) },
      { name: 'else_branch', type: attributeType.GRAPH, g: branchGraph(`${n.name}.else`, elseBranch, cone) },
    );
  }
  return {
    name: n.name,
    op_type: n.op,
    input: n.inputs.map((t) => t?.name ?? ''),
    output: n.outputs.map((t) => t.name),
    attribute: attrs,
  };
}

function knownValueInfos(nodes: readonly Node[], cone: Set<Tensor>, skip: Set<string>): object[] {
  return nodes.flatMap((n) => n.outputs.filter((t) => !skip.has(t.name) && !cone.has(t)).map(valueInfo));
}

function branchGraph(name: string, branch: Branch, cone: Set<Tensor>): object {
  const outputs = new Set(branch.outputs.map((t) => t.name));
  return {
    name,
    node: branch.nodes.map((n) => nodeProto(n, cone)),
    output: branch.outputs.map(valueInfo),
    value_info: knownValueInfos(branch.nodes, cone, outputs),
  };
}

/** A protobuf message cannot exceed 2 GiB; larger weights must be ExternalRefs. */
export const MAX_INLINE_BYTES = 2 ** 31 - 1;

function initializer(stored: Tensor, data: TensorData | ExternalRef | undefined): object {
  const base = { name: stored.name, dims: stored.shape, data_type: onnxDataType[stored.dtype] };
  if (data === undefined) {
    throw new GraphError(
      'missing_data',
      `param '${stored.name}'`,
      'has no data; attach data or an ExternalRef before serializing',
    );
  }
  if (!ArrayBuffer.isView(data)) {
    const entries = [
      { key: 'location', value: data.location },
      { key: 'offset', value: String(data.offset) },
      { key: 'length', value: String(data.length) },
    ];
    return { ...base, external_data: entries, data_location: 1 };
  }
  return { ...base, raw_data: toLittleEndianBytes(data) };
}

/** The graph as an ONNX ModelProto. Checks the graph first (dangling inputs, cycles, missing weights). */
export function toModelBytes(graph: Graph): Uint8Array {
  const nodes = graph.topologicalNodes();
  const inline = graph.initializers.reduce(
    (sum, i) => sum + (ArrayBuffer.isView(i.data) ? i.data.byteLength : 0),
    0,
  );
  if (inline > MAX_INLINE_BYTES) {
    throw new GraphError(
      'model_too_large',
      `graph '${graph.name}'`,
      `${inline} bytes of in-memory weights exceed the 2 GiB protobuf limit; pass large weights as ExternalRefs`,
    );
  }
  const outputNames = new Set(graph.outputs.map((o) => o.tensor.name));
  const cone = dynamicCone(nodes);
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'dragflow-graph',
    opset_import: [{ domain: '', version: OPSET }],
    metadata_props: [...graph.metadata].map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: nodes.map((n) => nodeProto(n, cone)),
      initializer: graph.initializers.map((i) => initializer(i.stored, i.data)),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map((o) => valueInfo(o.tensor)),
      value_info: knownValueInfos(nodes, cone, outputNames),
    },
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
