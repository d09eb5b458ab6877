/**
 * ONNX serialization through protobufjs and the repo's own `onnx.proto` subset. Output is
 * byte-identical for identical graphs: nodes, initializers and value infos come in build order.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { onnxDataType, type TensorData, toLittleEndianBytes } from './dtype.ts';
import { GraphError } from './errors.ts';
import type { ExternalRef, Graph, Tensor } from './graph.ts';
import type { Attr } from './ops.ts';

/**
 * The default-domain opset we emit: the newest onnxruntime-node 1.30 loads and runs on CPU for
 * every op in `opInference` (27 is refused at load). Probed empirically; see README.
 */
export const OPSET = 26;
/** The newest IR version onnxruntime-node 1.30 accepts (14 is refused). */
export const IR_VERSION = 13;

const root = protobuf.parse(readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;
const ModelProto = root.lookupType('onnx.ModelProto');

const attributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

function attribute(name: string, value: Attr): object {
  if (typeof value === 'number') return { name, type: attributeType.INT, i: value };
  if (typeof value === 'string') return { name, type: attributeType.STRING, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: attributeType.INTS, ints: value };
  return { name, type: attributeType.FLOAT, f: (value as { float: number }).float };
}

function valueInfo(t: Tensor): object {
  return {
    name: t.name,
    type: {
      tensor_type: {
        elem_type: onnxDataType[t.dtype],
        shape: { dim: t.shape.map((d) => ({ dim_value: d })) },
      },
    },
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
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'dragflow-graph',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: graph.name,
      node: nodes.map((n) => ({
        name: n.name,
        op_type: n.op,
        input: n.inputs.map((t) => t?.name ?? ''),
        output: n.outputs.map((t) => t.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      })),
      initializer: graph.initializers.map((i) => initializer(i.stored, i.data)),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map((o) => valueInfo(o.tensor)),
      value_info: nodes.flatMap((n) => n.outputs.filter((t) => !outputNames.has(t.name)).map(valueInfo)),
    },
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
