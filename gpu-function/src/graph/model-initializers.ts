/**
 * The initializers of an ONNX model as written (by us, or by onnxruntime as the optimised model it
 * saves with `optimizedModelFilePath`), subgraphs included: what a session holds as weights.
 */
import { ModelProto } from './onnx-proto.ts';

/** Bytes per element of ONNX TensorProto.DataType codes (a fact of the ONNX spec). */
const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4, // float
  2: 1, // uint8
  3: 1, // int8
  4: 2, // uint16
  5: 2, // int16
  6: 4, // int32
  7: 8, // int64
  9: 1, // bool
  10: 2, // float16
  11: 8, // double
  12: 4, // uint32
  13: 8, // uint64
  16: 2, // bfloat16
};

export const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export interface InitializerInfo {
  readonly name: string;
  /** ONNX data type code. */
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly bytes: number;
  /** Where the graph holding it sits: '' for the main graph, else the If node's branch path. */
  readonly graph: string;
}

interface GraphMessage {
  initializer?: { name?: string; data_type?: number; dims?: (number | { toNumber(): number })[] }[];
  node?: { name?: string; attribute?: { name?: string; g?: GraphMessage }[] }[];
}

function collect(graph: GraphMessage, path: string, out: InitializerInfo[]): void {
  for (const t of graph.initializer ?? []) {
    const dims = (t.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
    const dataType = t.data_type ?? 0;
    const size = dims.reduce((a, b) => a * b, 1);
    const element = ELEMENT_BYTES[dataType];
    if (element === undefined)
      throw new Error(`initializer '${t.name}' has unsupported data type ${dataType}`);
    out.push({ name: t.name ?? '', dataType, dims, bytes: size * element, graph: path });
  }
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      if (attribute.g) collect(attribute.g, `${path}/${node.name}.${attribute.name}`, out);
    }
  }
}

/** Every initializer of the model, in the main graph and in every subgraph. */
export function modelInitializers(modelBytes: Uint8Array): InitializerInfo[] {
  const model = ModelProto.decode(modelBytes) as unknown as { graph?: GraphMessage };
  const out: InitializerInfo[] = [];
  if (model.graph) collect(model.graph, '', out);
  return out;
}
