/**
 * Device memory of one run of a graph, from the graph itself: tensors live from the node that
 * produces them to their last consumer (run order = build order; an If runs one branch, chosen per
 * run, and keeps every outer tensor either branch reads alive until it finishes), views
 * (Reshape, Squeeze, Unsqueeze, Identity, If results) share their source's buffer, graph inputs and
 * outputs live for the whole run, weights are counted apart. The peak of the live bytes is what the
 * run's activations need at least; an allocator adds its rounding and kernels their workspaces
 * (cuBLAS, flash attention, cuDNN), which the graph does not show.
 */
import { bytesPerElement } from './dtype.ts';
import type { Graph, Node, Tensor } from './graph.ts';

/** Ops whose output is a view of their first input (no new memory). */
const VIEWS = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Identity']);

export interface MemoryPlan {
  /** Largest sum of live activation bytes (inputs and outputs included) during the run. */
  readonly peakBytes: number;
  /** The node running when the peak is reached. */
  readonly peakNode: string;
  /** Bytes of the graph inputs as fed. */
  readonly inputBytes: number;
  /** Bytes of the initializers (weights and constants) as stored. */
  readonly weightBytes: number;
  /** Nodes run. */
  readonly nodesRun: number;
}

export interface RunChoice {
  /** The branch an If node runs: 0 then, 1 else. */
  branch(node: Node): 0 | 1;
  /** Bytes of an input as fed this run (inputs with dynamic axes); default its built size. */
  inputBytes?(input: Tensor): number | undefined;
}

function bytesOf(t: Tensor): number {
  return t.size * bytesPerElement[t.dtype];
}

/** Every tensor a node list reads that it does not produce itself (a branch's outer reads). */
function outerReads(nodes: readonly Node[], into: Set<Tensor>): void {
  const produced = new Set<Tensor>();
  const visit = (list: readonly Node[]) => {
    for (const n of list) {
      for (const t of n.inputs) if (t) into.add(t);
      n.branches?.forEach((b) => {
        visit(b.nodes);
      });
      for (const t of n.outputs) produced.add(t);
      n.branches?.forEach((b) => {
        for (const n2 of b.nodes) for (const t of n2.outputs) produced.add(t);
      });
    }
  };
  visit(nodes);
  for (const t of produced) into.delete(t);
}

export function planMemory(graph: Graph, choice: RunChoice): MemoryPlan {
  const base = new Map<Tensor, Tensor>();
  const root = (t: Tensor): Tensor => base.get(t) ?? t;
  const born = new Map<Tensor, number>();
  const lastUse = new Map<Tensor, number>();
  const use = (t: Tensor, step: number) => {
    const b = root(t);
    lastUse.set(b, Math.max(lastUse.get(b) ?? -1, step));
  };
  const initializers = new Set(graph.initializers.map((i) => i.stored));
  const names: string[] = [];
  let step = 0;

  const run = (nodes: readonly Node[]) => {
    for (const node of nodes) {
      if (node.branches) {
        const held = new Set<Tensor>();
        node.branches.forEach((b) => {
          outerReads(b.nodes, held);
        });
        const chosen = node.branches[choice.branch(node)];
        run(chosen.nodes);
        const end = step++;
        names.push(node.name);
        for (const t of held) if (!initializers.has(t)) use(t, end);
        use(node.inputs[0]!, end);
        node.outputs.forEach((out, i) => {
          base.set(out, root(chosen.outputs[i]!));
        });
        continue;
      }
      const at = step++;
      names.push(node.name);
      for (const t of node.inputs) if (t && !initializers.has(t)) use(t, at);
      if (VIEWS.has(node.op) && node.inputs[0] && !initializers.has(node.inputs[0])) {
        base.set(node.outputs[0]!, root(node.inputs[0]));
      } else {
        for (const t of node.outputs) born.set(t, at);
      }
    }
  };
  run(graph.topologicalNodes());
  const end = step;
  let inputBytes = 0;
  const sizes = new Map<Tensor, number>();
  for (const t of graph.inputs) {
    const bytes = choice.inputBytes?.(t) ?? bytesOf(t);
    inputBytes += bytes;
    sizes.set(t, bytes);
    born.set(t, 0);
    lastUse.set(t, end);
  }
  for (const o of graph.outputs) use(o.tensor, end);

  // Sweep: +bytes where a buffer is born, -bytes after its last use.
  const delta = new Float64Array(end + 2);
  for (const [t, at] of born) {
    const last = lastUse.get(t);
    if (last === undefined) continue; // produced, never read (an unused optional output)
    const bytes = sizes.get(t) ?? bytesOf(t);
    delta[at] = delta[at]! + bytes;
    delta[last + 1] = delta[last + 1]! - bytes;
  }
  let live = 0;
  let peakBytes = 0;
  let peakAt = 0;
  for (let i = 0; i <= end; i++) {
    live += delta[i]!;
    if (live > peakBytes) {
      peakBytes = live;
      peakAt = i;
    }
  }
  const weightBytes = graph.initializers.reduce((sum, i) => sum + bytesOf(i.stored), 0);
  return { peakBytes, peakNode: names[peakAt] ?? 'inputs', inputBytes, weightBytes, nodesRun: end };
}
