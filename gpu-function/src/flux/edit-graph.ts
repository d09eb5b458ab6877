/**
 * One graph for every transformer call of an edit (inversion with K/V capture, sampling with K/V
 * injection, supervision features, drag steps), so one onnxruntime session holds each weight once:
 * sessions cannot share initializers, and four sessions of FLUX.1-dev would hold its 23.8 GB of
 * weights four times.
 *
 * The double blocks up to the last feature tap run on every call; the rest is chosen per run by two
 * bool inputs read by ONNX If nodes (whose branches use the main graph's weights, not copies):
 * `run_velocity` runs the remaining blocks and the final layer; otherwise the supervision map is
 * built and `run_drag_step` adds the region loss and its gradient (per-block recomputation).
 * `inject_kv` switches the K/V overrides. Inputs a run does not read take one-element placeholders
 * (`placeholderFeeds`): their sizes are dynamic.
 */
import type { Graph, Tensor } from '../graph/graph.ts';
import type { FluxConfig } from './config.ts';
import { checkDragStepOptions, type DragStepOptions, dragStepNames, lossAndGradient } from './drag-step.ts';
import { buildSupervisionTrunk, featureNames, supervisionMap } from './features.ts';
import { type BlockSelection, names, velocityFrom } from './transformer.ts';

export const editGraphNames = {
  /** bool []: run the velocity (remaining double blocks, single blocks, final layer). */
  runVelocity: 'run_velocity',
  /** bool []: without run_velocity, compute the drag step's loss and gradient. */
  runDragStep: 'run_drag_step',
} as const;

/**
 * Whether the runtime's edit graph recomputes each double block in the drag step's backward pass.
 * No: it fits one GPU without (plan:gpu: 39 GiB at 1024x1024 with image-size supervision maps, the
 * worst case) and a drag step then costs about a quarter less; the forward activations the backward
 * reads are held by the If, on every run, which plan:gpu counts.
 */
export const EDIT_GRAPH_REMATERIALIZES = false;

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
  const { trunk, streams, lastBlock } = supervision;
  const g = trunk.p.graph;
  const runVelocity = g.input(editGraphNames.runVelocity, 'bool', []);
  const runDragStep = g.input(editGraphNames.runDragStep, 'bool', []);
  const early = trunk.captured.length;
  for (const { name, tensor } of trunk.captured) g.output(name, tensor);
  // Stand-ins for the outputs a run does not compute.
  const noFeatures = g.constant([0], 'float32', [1, 1, 1, 1]);
  const noLoss = g.scalar(0, 'float32');
  const noGradient = placeholder(g, trunk.imgInput);

  let later: { name: string; tensor: Tensor }[] = [];
  const [velocity, ...rest] = g.ifThenElse(
    runVelocity,
    () => {
      const v = velocityFrom(trunk, streams, lastBlock + 1);
      later = trunk.captured.slice(early);
      return [v, ...later.map((c) => c.tensor), noFeatures, noLoss, noGradient];
    },
    () => {
      const skipped = [placeholder(g, trunk.imgInput), ...later.map((c) => placeholder(g, c.tensor))];
      const features = supervisionMap(supervision);
      return [
        ...skipped,
        features,
        ...g.ifThenElse(
          runDragStep,
          () => {
            const { loss, gradient } = lossAndGradient(supervision, features, options, true);
            return [loss, gradient];
          },
          () => [noLoss, noGradient],
        ),
      ];
    },
  ) as [Tensor, ...Tensor[]];
  g.output(names.velocity, velocity);
  later.forEach(({ name }, i) => {
    g.output(name, rest[i]!);
  });
  g.output(featureNames.features, rest[later.length]!);
  g.output(dragStepNames.loss, rest[later.length + 1]!);
  g.output(dragStepNames.gradient, rest[later.length + 2]!);
  return g;
}
