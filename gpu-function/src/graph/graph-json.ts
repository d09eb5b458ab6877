/**
 * A graph as JSON, for executors that cannot read ONNX protobuf (the device check's Python
 * interpreter): inputs with dynamic axes, outputs, initializers (params by shape only, small
 * constants with their little-endian bytes in base64), and nodes in run order with If branches
 * nested.
 */
import { toLittleEndianBytes } from './dtype.ts';
import type { Graph, Node, Tensor } from './graph.ts';
import type { Attr } from './ops.ts';

interface NodeJson {
  op: string;
  inputs: (string | null)[];
  outputs: string[];
  attrs: Record<string, Attr>;
  branches?: { nodes: NodeJson[]; outputs: string[] }[];
}

export interface GraphJson {
  name: string;
  metadata: Record<string, string>;
  inputs: { name: string; dtype: string; shape: number[]; dynamicAxes: number[] }[];
  outputs: { name: string; tensor: string }[];
  initializers: {
    name: string;
    kind: 'param' | 'constant';
    dtype: string;
    shape: number[];
    base64?: string;
  }[];
  nodes: NodeJson[];
}

function nodeJson(n: Node): NodeJson {
  return {
    op: n.op,
    inputs: n.inputs.map((t) => t?.name ?? null),
    outputs: n.outputs.map((t) => t.name),
    attrs: { ...n.attrs },
    ...(n.branches
      ? {
          branches: n.branches.map((b) => ({
            nodes: b.nodes.map(nodeJson),
            outputs: b.outputs.map((t: Tensor) => t.name),
          })),
        }
      : {}),
  };
}

export function graphJson(graph: Graph): GraphJson {
  return {
    name: graph.name,
    metadata: Object.fromEntries(graph.metadata),
    inputs: graph.inputs.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      dynamicAxes: t.dimParams ? t.dimParams.flatMap((p, i) => (p === undefined ? [] : [i])) : [],
    })),
    outputs: graph.outputs.map((o) => ({ name: o.name, tensor: o.tensor.name })),
    initializers: graph.initializers.map(({ kind, stored, data }) => ({
      name: stored.name,
      kind,
      dtype: stored.dtype,
      shape: [...stored.shape],
      ...(kind === 'constant' && ArrayBuffer.isView(data)
        ? { base64: Buffer.from(toLittleEndianBytes(data)).toString('base64') }
        : {}),
    })),
    nodes: graph.topologicalNodes().map(nodeJson),
  };
}
