/**
 * For tests: a copy of a 16-bit graph that computes in float32 but rounds every 16-bit value to its
 * dtype after the op that makes it (a round-trip Cast), so a bfloat16 graph's rounding can be
 * measured where onnxruntime's CPU provider has no bfloat16 kernels. What it does not model: each
 * kernel's own internal precision (GEMMs accumulate in float32 on CUDA too; elementwise ops round
 * once, as here).
 */
import type { DType } from '../../src/graph/dtype.ts';
import { Graph, type Tensor } from '../../src/graph/graph.ts';

const SIXTEEN = new Set<DType>(['bfloat16', 'float16']);

export function emulate16Bit(source: Graph): Graph {
  const g = new Graph(`${source.name}.emulated`);
  const map = new Map<Tensor, Tensor>();
  const wide = (dtype: DType): DType => (SIXTEEN.has(dtype) ? 'float32' : dtype);
  const round = (t: Tensor, dtype: DType) => (SIXTEEN.has(dtype) ? g.cast(g.cast(t, dtype), 'float32') : t);
  for (const t of source.inputs) map.set(t, g.input(t.name, t.dtype, t.shape));
  for (const init of source.initializers) {
    const { stored, data } = init;
    if (init.kind === 'param') {
      map.set(stored, g.param(stored.name, wide(stored.dtype), stored.shape, data, { stored: stored.dtype }));
    } else {
      const c = g.constant(stored.value!, stored.dtype, stored.shape);
      map.set(stored, SIXTEEN.has(stored.dtype) ? g.cast(c, 'float32') : c);
    }
  }
  for (const node of source.topologicalNodes()) {
    if (node.branches) throw new Error('emulate16Bit: If nodes are not supported');
    const inputs = node.inputs.map((t) => t && map.get(t)!);
    if (node.op === 'Cast') {
      const to = node.outputs[0]!.dtype;
      map.set(node.outputs[0]!, SIXTEEN.has(to) ? round(inputs[0]!, to) : g.cast(inputs[0]!, to));
      continue;
    }
    const outputs = g.op(node.op, inputs, node.attrs, node.outputs.length);
    node.outputs.forEach((t, i) => {
      map.set(t, round(outputs[i]!, t.dtype));
    });
  }
  for (const { name, tensor } of source.outputs) g.output(name, map.get(tensor)!);
  return g;
}
