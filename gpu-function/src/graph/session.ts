/** Running a built graph in onnxruntime-node (CPU). */
import ort from 'onnxruntime-node';
import type { TensorData } from './dtype.ts';
import type { Graph } from './graph.ts';
import { fromOrtTensor, toOrtTensor } from './ort-data.ts';
import { toModelBytes } from './serialize.ts';

/** Data of an input's built shape, or data with its own dims (inputs with dynamic axes). */
export type Feed = TensorData | { readonly data: TensorData; readonly dims: readonly number[] };
export type Feeds = Record<string, Feed>;
export type Results = Record<string, { data: TensorData; dims: readonly number[] }>;

/** A session over the graph's in-memory model bytes (params with ExternalRefs need a model file instead). */
export async function createSession(
  graph: Graph,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<(feeds: Feeds) => Promise<Results>> {
  // onnxruntime's extended optimizations fuse x * sigmoid(x) into QuickGelu, which has only a
  // float32 kernel: graphs with a float64 Sigmoid (gradient checks) stay at basic optimizations.
  const hasFloat64Sigmoid = graph.nodes.some((n) => n.op === 'Sigmoid' && n.outputs[0]!.dtype === 'float64');
  const session = await ort.InferenceSession.create(toModelBytes(graph), {
    logSeverityLevel: 3, // errors only: warnings about pruned initializers are noise here
    ...(hasFloat64Sigmoid ? { graphOptimizationLevel: 'basic' as const } : {}),
    ...options,
  });
  const shapes = new Map(graph.inputs.map((t) => [t.name, t] as const));
  return async (feeds) => {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) {
      const t = shapes.get(name);
      if (!t) throw new Error(`createSession: '${name}' is not an input of graph '${graph.name}'`);
      if (t.dtype === 'bfloat16')
        throw new Error(`createSession: input '${name}': onnxruntime-node has no bfloat16 tensors`);
      const { data, dims } = ArrayBuffer.isView(feed) ? { data: feed, dims: t.shape } : feed;
      ortFeeds[name] = toOrtTensor(t.dtype, data, dims);
    }
    const out = await session.run(ortFeeds);
    const results: Results = {};
    for (const [name, value] of Object.entries(out)) {
      results[name] = { data: fromOrtTensor(value), dims: value.dims };
    }
    return results;
  };
}
