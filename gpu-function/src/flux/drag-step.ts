/**
 * One DragFlow optimisation step as a graph: the supervision features of the current latent,
 * the region-level L1 loss against the affinely warped start features, and its gradient with
 * respect to the packed latent (through every computed double block), in one session run.
 */
import { appendGradients } from '../graph/autodiff.ts';
import type { Graph, Tensor } from '../graph/graph.ts';
import type { FluxConfig } from './config.ts';
import { FluxModelError } from './errors.ts';
import {
  buildSupervisionTrunk,
  type FeatureOptions,
  type SupervisionTrunk,
  supervisionMap,
} from './features.ts';
import { lossScale } from './precision.ts';
import { outputCaptured } from './transformer.ts';

/** Largest number of region operations one drag step supervises. */
export const MAX_REGIONS = 16;

export interface DragStepOptions extends FeatureOptions {
  /** Number of region operations R. */
  readonly regions: number;
  /**
   * Recompute each double block's activations in the backward pass instead of keeping them
   * (less memory, about one more forward pass of time).
   */
  readonly rematerializeBlocks?: boolean;
}

export const dragStepNames = {
  /** warp(F0) per operation [R, C, h, w]. */
  warpedFeatures: 'warped_features',
  /** Warped source mask per operation, 1 inside (p = mask > 0.5) and 0 outside [R, 1, h, w]. */
  regionMasks: 'region_masks',
  /** gamma_i [R]. */
  regionWeights: 'region_weights',
  loss: 'loss',
  /** dL/d img [B, L, inChannels]. */
  gradient: 'grad_img',
  features: 'features',
} as const;

/**
 * sum_i gamma_i * mean(|F * p_i - warpF0_i * p_i|), the mean over all C*h*w elements (not the
 * mask area, as in the reference code). F [1, C, h, w] broadcasts over the R operations.
 */
export function regionLoss(
  g: Graph,
  features: Tensor,
  warped: Tensor,
  masks: Tensor,
  weights: Tensor,
): Tensor {
  const perRegion = g.reduceMean(
    g.abs(g.sub(g.mul(features, masks), g.mul(warped, masks))),
    [1, 2, 3],
    false,
  );
  return g.reduceSum(g.mul(perRegion, weights), [0], false);
}

/**
 * Inputs: the transformer inputs (with KV overrides and adapter when configured) plus
 * `warped_features`, `region_masks`, `region_weights`. Outputs: `loss` [], `grad_img` and the
 * current `features` (so the first call also yields F0).
 */
export function checkDragStepOptions(options: DragStepOptions): void {
  if (!Number.isInteger(options.regions) || options.regions < 1 || options.regions > MAX_REGIONS) {
    throw new FluxModelError(
      'invalid_input_shape',
      `regions must be an integer in [1, ${MAX_REGIONS}], got ${options.regions}`,
    );
  }
  if (options.grid.batch !== 1) {
    throw new FluxModelError(
      'invalid_input_shape',
      `a drag step optimises one latent: batch must be 1, got ${options.grid.batch}`,
    );
  }
}

/**
 * The supervision inputs (`dynamic`: sizes chosen per run, so runs that compute no loss feed one
 * element each), the loss, and dL/d img in float32. The loss is scaled before differentiating
 * where the compute dtype needs it (precision.ts `lossScale`) and the gradient unscaled in float32.
 */
export function lossAndGradient(
  supervision: SupervisionTrunk,
  features: Tensor,
  options: DragStepOptions,
  dynamic = false,
): { loss: Tensor; gradient: Tensor } {
  const { trunk } = supervision;
  const g = trunk.p.graph;
  const [, channels, height, width] = features.shape as [number, number, number, number];
  const r = options.regions;
  const input = (name: string, shape: number[]) =>
    g.input(name, 'float32', shape, { dynamicAxes: dynamic ? shape.map((_, i) => i) : [] });
  const warped = input(dragStepNames.warpedFeatures, [r, channels, height, width]);
  const masks = input(dragStepNames.regionMasks, [r, 1, height, width]);
  const weights = input(dragStepNames.regionWeights, [r]);
  const loss = regionLoss(g, features, warped, masks, weights);
  const blocks = Array.from({ length: supervision.lastBlock + 1 }, (_, i) => `double_blocks.${i}`);
  const scale = lossScale(trunk.compute);
  const [scaled] = appendGradients(g, scale === 1 ? loss : g.mul(loss, scale), [trunk.imgInput], {
    rematerialize: options.rematerializeBlocks ? blocks : [],
  }) as [Tensor];
  return { loss, gradient: scale === 1 ? scaled : g.div(scaled, scale) };
}

export function buildDragStepGraph(config: FluxConfig, options: DragStepOptions): Graph {
  checkDragStepOptions(options);
  const supervision = buildSupervisionTrunk(`${config.name}.drag_step`, config, options);
  const g = supervision.trunk.p.graph;
  const features = supervisionMap(supervision);
  const { loss, gradient } = lossAndGradient(supervision, features, options);
  g.output(dragStepNames.loss, loss);
  g.output(dragStepNames.gradient, gradient);
  g.output(dragStepNames.features, features);
  outputCaptured(supervision.trunk);
  return g;
}
