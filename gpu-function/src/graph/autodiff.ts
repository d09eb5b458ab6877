/**
 * Reverse-mode autodiff: appends the vector-Jacobian subgraph of a scalar loss to the graph, so
 * one session run yields the loss and its gradients. Each op's local rule lives in `rules.ts`.
 */
import { isFloat } from './dtype.ts';
import { GraphError } from './errors.ts';
import type { Graph, Node, Tensor } from './graph.ts';
import { nodeLabel } from './ops.ts';
import { gradientRules } from './rules.ts';
import { formatShape, sameShape } from './shape.ts';

export interface GradientOptions {
  /**
   * Segments (names given to `Graph.segment`, matching nested segments too) whose forward pass is
   * recomputed during the backward pass instead of keeping its activations alive until then.
   */
  rematerialize?: readonly string[];
}

/**
 * Appends d(loss)/d(w) for each w in `wrt` and returns those gradient tensors (name them with
 * `graph.output`). Only nodes on a path from some w to the loss are differentiated, and only the
 * inputs that need it get gradient ops. A w the loss does not depend on gets zeros.
 */
export function appendGradients(
  graph: Graph,
  loss: Tensor,
  wrt: readonly Tensor[],
  options: GradientOptions = {},
): Tensor[] {
  if (loss.graph !== graph)
    throw new GraphError('foreign_tensor', `loss '${loss.name}'`, `not in graph '${graph.name}'`);
  if (loss.size !== 1 || !isFloat(loss.dtype)) {
    throw new GraphError(
      'not_scalar_loss',
      `loss '${loss.name}'`,
      `must be a float scalar, is ${loss.dtype}${formatShape(loss.shape)}`,
    );
  }
  const order = graph.visibleNodes();

  // Forward: which tensors depend on some w. Backward: which tensors reach the loss.
  const dependsOnWrt = new Set<Tensor>(wrt.filter((w) => isFloat(w.dtype)));
  for (const node of order) {
    if (node.inputs.some((t) => t && dependsOnWrt.has(t))) for (const t of node.outputs) dependsOnWrt.add(t);
  }
  const reachesLoss = new Set<Tensor>([loss]);
  for (const node of [...order].reverse()) {
    if (node.outputs.some((t) => reachesLoss.has(t))) for (const t of node.inputs) if (t) reachesLoss.add(t);
  }
  const needsGradient = (t: Tensor | undefined): boolean =>
    t !== undefined && dependsOnWrt.has(t) && reachesLoss.has(t) && isFloat(t.dtype);

  const grads = new Map<Tensor, Tensor>([[loss, graph.expand(graph.scalar(1, loss.dtype), loss.shape)]]);
  const remat = new Rematerializer(graph, order, options.rematerialize ?? []);

  for (const node of [...order].reverse()) {
    const needs = node.inputs.map(needsGradient);
    const dys = node.outputs.map((t) => grads.get(t));
    if (!needs.some(Boolean) || dys.every((d) => d === undefined)) continue;
    const rule = gradientRules[node.op];
    if (!rule) {
      throw new GraphError(
        'no_gradient_rule',
        nodeLabel(node.op, node.name),
        `op '${node.op}' has no gradient rule`,
      );
    }
    const view = remat.view(node, dys.find((d) => d !== undefined)!);
    // dy is built on first use: multi-output rules (Split) read dys and may never need it.
    const thunks = rule({
      g: graph,
      node: view,
      dys,
      get dy() {
        return dys[0] ?? zerosLike(graph, node.outputs[0]!);
      },
    });
    node.inputs.forEach((input, i) => {
      if (!input || !needs[i]) return;
      const thunk = thunks[i];
      if (!thunk) {
        throw new GraphError(
          'no_gradient_rule',
          nodeLabel(node.op, node.name),
          `no gradient for input ${i} ('${input.name}')`,
        );
      }
      const dx = thunk();
      if (!sameShape(dx.shape, input.shape) || dx.dtype !== input.dtype) {
        throw new GraphError(
          'shape_mismatch',
          nodeLabel(node.op, node.name),
          `gradient rule gave ${dx.dtype}${formatShape(dx.shape)} for input '${input.name}' ${input.dtype}${formatShape(input.shape)}`,
        );
      }
      const previous = grads.get(input);
      grads.set(input, previous ? graph.add(previous, dx) : dx);
    });
  }
  return wrt.map((w) => grads.get(w) ?? zerosLike(graph, w));
}

export function zerosLike(g: Graph, t: Tensor): Tensor {
  return g.expand(g.scalar(0, t.dtype), t.shape);
}

/**
 * Recomputes a marked segment's forward nodes from the segment's inputs the first time the
 * backward pass reaches the segment; the segment's rules then read the recomputed activations.
 */
class Rematerializer {
  private readonly recomputed = new Map<string, Map<Tensor, Tensor>>();

  constructor(
    private readonly graph: Graph,
    private readonly order: readonly Node[],
    private readonly segments: readonly string[],
  ) {}

  /** The node as its rule should see it; `trigger` is a gradient already computed when it is reached. */
  view(node: Node, trigger: Tensor): Node {
    const unit = this.unitOf(node);
    if (unit === undefined) return node;
    const mapping = this.recompute(unit, trigger);
    const swap = (t: Tensor) => mapping.get(t) ?? t;
    return { ...node, inputs: node.inputs.map((t) => t && swap(t)), outputs: node.outputs.map(swap) };
  }

  private unitOf(node: Node): string | undefined {
    const s = node.segment;
    return s === undefined ? undefined : this.segments.find((name) => s === name || s.startsWith(`${name}.`));
  }

  private recompute(unit: string, trigger: Tensor): Map<Tensor, Tensor> {
    const existing = this.recomputed.get(unit);
    if (existing) return existing;
    const g = this.graph;
    const mapping = new Map<Tensor, Tensor>();
    // Weights are not activations (nothing to free), and switches (bool) have no Where kernel:
    // they enter the recomputation as they are.
    const initializers = new Set(g.initializers.map((i) => i.stored));
    g.segment(`remat.${unit}`, () => {
      // onnxruntime's common-subexpression elimination would merge an exact copy of the segment
      // back into the forward pass. Passing the segment's incoming activations through an identity
      // (Where with equal branches) that depends on a gradient keeps the copy apart and makes it
      // run during the backward pass.
      const corner =
        trigger.rank === 0
          ? trigger
          : g.slice(
              trigger,
              trigger.shape.map(() => 0),
              trigger.shape.map(() => 1),
            );
      const first = g.reshape(corner, []);
      const barrier = g.equal(first, first);
      const enter = (t: Tensor) => {
        let entered = mapping.get(t);
        if (!entered) {
          entered = initializers.has(t) || !isFloat(t.dtype) ? t : g.where(barrier, t, t);
          mapping.set(t, entered);
        }
        return entered;
      };
      for (const node of this.order) {
        if (this.unitOf(node) !== unit) continue;
        const inputs = node.inputs.map((t) => t && (mapping.get(t) ?? enter(t)));
        const outputs = this.graph.op(node.op, inputs, node.attrs, node.outputs.length);
        node.outputs.forEach((t, i) => {
          mapping.set(t, outputs[i]!);
        });
      }
    });
    this.recomputed.set(unit, mapping);
    return mapping;
  }
}
