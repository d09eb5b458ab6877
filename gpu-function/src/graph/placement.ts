/**
 * Would onnxruntime's CUDA provider run every node of a graph? For each node (If branches
 * included): the op's version at the graph's opset, its type constraints' dtypes, and the CUDA
 * registration (cuda-kernels.ts) that takes them, or none, in which case onnxruntime would place
 * the node on the CPU and copy its inputs and outputs across. Runs on any machine.
 */
import { CUDA_KERNELS, type CudaKernel, ONNX_OP_VERSIONS } from './cuda-kernels.ts';
import type { Graph, Node } from './graph.ts';
import { OPSET } from './serialize.ts';

/** The dtype bound to each type constraint of a node, as its CUDA kernel is keyed. */
function constraintTypes(node: Node): Record<string, string> {
  const input = (i: number) => node.inputs[i]?.dtype ?? 'absent';
  const output = (i: number) => node.outputs[i]?.dtype ?? 'absent';
  switch (node.op) {
    case 'Cast':
      return { T1: input(0), T2: output(0) };
    case 'Where':
      return { B: input(0), T: input(1) };
    case 'If':
      return { B: input(0) };
    case 'LayerNormalization':
      return node.outputs.length > 1 ? { T: input(0), U: output(1) } : { T: input(0) };
    case 'RMSNormalization':
      return { T: input(0), V: input(1) };
    case 'Attention':
      return { T1: input(0), T2: input(2) };
    case 'Resize':
      return { T1: input(0) };
    case 'Gather':
      return { T: input(0), Tind: input(1) };
    case 'Slice':
      return { T: input(0), Tind: input(1) };
    case 'Greater':
    case 'Less':
    case 'Equal':
      return { T: input(0), T1: output(0) };
    default:
      return { T: input(0) };
  }
}

/** The op's version at `opset`: its newest schema not after it. */
export function resolvedVersion(op: string, opset = OPSET): number | undefined {
  return ONNX_OP_VERSIONS[op]?.filter((v) => v <= opset).at(-1);
}

function matches(kernel: CudaKernel, op: string, version: number, types: Record<string, string>): boolean {
  if (kernel.op !== op) return false;
  const inRange =
    kernel.until === undefined
      ? version === kernel.since
      : kernel.since <= version && version <= kernel.until;
  return inRange && Object.entries(types).every(([c, dtype]) => kernel.types[c]?.includes(dtype));
}

export interface PlacementRow {
  readonly op: string;
  readonly version: number | undefined;
  /** Constraint=dtype pairs, e.g. "T1=bfloat16 T2=float32". */
  readonly types: string;
  readonly nodes: number;
  /** The CUDA registration that runs it, or undefined: the CPU would. */
  readonly kernel: CudaKernel | undefined;
}

/** Every distinct (op, version, types) of the graph with its node count and CUDA kernel. */
export function cudaPlacement(graph: Graph, opset = OPSET): PlacementRow[] {
  const rows = new Map<
    string,
    { op: string; version: number | undefined; types: Record<string, string>; nodes: number }
  >();
  const visit = (nodes: readonly Node[]) => {
    for (const node of nodes) {
      const version = resolvedVersion(node.op, opset);
      const types = constraintTypes(node);
      const key = `${node.op}|${version}|${JSON.stringify(types)}`;
      const row = rows.get(key) ?? { op: node.op, version, types, nodes: 0 };
      row.nodes++;
      rows.set(key, row);
      node.branches?.forEach((b) => {
        visit(b.nodes);
      });
    }
  };
  visit(graph.topologicalNodes());
  return [...rows.values()]
    .map((r) => ({
      op: r.op,
      version: r.version,
      types: Object.entries(r.types)
        .map(([c, d]) => `${c}=${d}`)
        .join(' '),
      nodes: r.nodes,
      kernel:
        r.version === undefined ? undefined : CUDA_KERNELS.find((k) => matches(k, r.op, r.version!, r.types)),
    }))
    .sort((a, b) => a.op.localeCompare(b.op) || a.types.localeCompare(b.types));
}

/** The rows no CUDA kernel takes (what would fall back to the CPU). */
export function cpuFallbacks(rows: readonly PlacementRow[]): PlacementRow[] {
  return rows.filter((r) => r.kernel === undefined);
}
