/**
 * One graph for every transformer call of an edit (inversion with K/V capture, sampling with K/V
 * injection, supervision features, drag steps), so one onnxruntime session holds each weight once:
 * sessions cannot share initializers, and four sessions of FLUX.1-dev would hold its 23.8 GB of
 * weights four times.
 *
 * The double blocks up to the last feature tap run on every call; the rest is chosen per run by two
 * bool inputs read by ONNX If nodes (whose branches use the main graph's weights, not copies):
 * `run_velocity` runs the remaining blocks and the final layer; otherwise `run_drag_step` computes
 * the region loss and its gradient (per-block recomputation), else nothing more (features only).
 * `inject_kv` switches the K/V overrides. Inputs a run does not read take one-element placeholders
 * (`placeholderFeeds`): their sizes are dynamic.
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import type { FluxConfig } from './config.ts';
import { checkDragStepOptions, type DragStepOptions, dragStepNames, lossAndGradient } from './drag-step.ts';
import { buildSupervisionTrunk, featureNames } from './features.ts';
import { type BlockSelection, names, velocityFrom } from './transformer.ts';

export const editGraphNames = {
  /** bool []: run the velocity (remaining double blocks, single blocks, final layer). */
  runVelocity: 'run_velocity',
  /** bool []: without run_velocity, compute the drag step's loss and gradient. */
  runDragStep: 'run_drag_step',
} as const;

export interface EditGraphOptions extends DragStepOptions {
  /** The K/V injection blocks: captured on every run, replaced when `inject_kv` is true. */
  readonly kvBlocks: BlockSelection;
}

/** A one-element tensor standing in for a branch output the run does not compute. */
function placeholder(g: Graph, like: Tensor): Tensor {
  return g.constant(
    [0],
    like.dtype,
    like.shape.map(() => 1),
  );
}

export function buildEditGraph(config: FluxConfig, options: EditGraphOptions): Graph {
  checkDragStepOptions(options);
  const supervision = buildSupervisionTrunk(`${config.name}.edit`, config, {
    ...options,
    kvCapture: options.kvBlocks,
    kvOverride: options.kvBlocks,
    kvOverrideSwitch: true,
  });
  const { trunk, features, streams, lastBlock } = supervision;
  const g = trunk.p.graph;
  const runVelocity = g.input(editGraphNames.runVelocity, 'bool', []);
  const runDragStep = g.input(editGraphNames.runDragStep, 'bool', []);
  g.output(featureNames.features, features);
  const early = trunk.captured.length;
  for (const { name, tensor } of trunk.captured) g.output(name, tensor);

  let later: { name: string; tensor: Tensor }[] = [];
  const [velocity, ...rest] = g.ifThenElse(
    runVelocity,
    () => {
      const v = velocityFrom(trunk, streams, lastBlock + 1);
      later = trunk.captured.slice(early);
      const [loss, gradient] = [g.scalar(0, 'float32'), placeholder(g, trunk.imgInput)];
      return [v, ...later.map((c) => c.tensor), loss, gradient];
    },
    () => {
      const skipped = [placeholder(g, trunk.imgInput), ...later.map((c) => placeholder(g, c.tensor))];
      return g.ifThenElse(
        runDragStep,
        () => {
          const { loss, gradient } = lossAndGradient(supervision, options, true);
          return [...skipped, loss, gradient];
        },
        () => [...skipped, g.scalar(0, 'float32'), placeholder(g, trunk.imgInput)],
      );
    },
  ) as [Tensor, ...Tensor[]];
  g.output(names.velocity, velocity);
  later.forEach(({ name }, i) => {
    g.output(name, rest[i]!);
  });
  g.output(dragStepNames.loss, rest[later.length]!);
  g.output(dragStepNames.gradient, rest[later.length + 1]!);
  return g;
}
