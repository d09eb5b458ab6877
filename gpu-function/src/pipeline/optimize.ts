/**
 * The drag optimisation (method doc, "Loss", "Affine transforms", "Update rule"): at the edit time,
 * plain gradient descent on the packed latent against region-level targets that move with the
 * operations' affine schedules (transport: k/K of each transform, then intensify at the full one),
 * each update followed by the hard background constraint z <- B z + (1 - B) z_bg.
 *
 * Targets at feature resolution (h, w): warp(F0, A_i^k) per operation, and p_i = the source mask
 * resized to (h, w), warped by A_i^k, > 0.5. The loss and its gradient come from the drag-step graph.
 */

import { blendLatent } from '../dragflow/composite.ts';
import type { DragIteration } from '../dragflow/drag-schedule.ts';
import type { Size } from '../dragflow/geometry.ts';
import { operationTransform, type RegionOperation } from '../dragflow/operation.ts';
import { maskToPlanes, thresholdPlanes } from '../dragflow/region.ts';
import { regionWeights } from '../dragflow/region-weights.ts';
import { type Planes, resizeBilinear } from '../dragflow/resample.ts';
import { warpPlanes } from '../dragflow/warp.ts';
import type { KvInputs } from './kv-cache.ts';
import type { EditModel } from './model.ts';

export interface DragTargets {
  /** [R, C, h, w] */
  warped: Float32Array;
  /** [R, 1, h, w], 1 inside p_i. */
  masks: Float32Array;
  /** gamma_i [R] */
  weights: Float32Array;
}

/** The supervision targets of every operation at `fraction` of its motion. */
export function dragTargets(
  start: Planes,
  operations: readonly RegionOperation[],
  fraction: number,
): DragTargets {
  const { channels, height, width } = start;
  const size: Size = { width, height };
  const plane = height * width;
  const warped = new Float32Array(operations.length * channels * plane);
  const masks = new Float32Array(operations.length * plane);
  operations.forEach((op, i) => {
    const transform = operationTransform(op, fraction, size);
    warped.set(warpPlanes(start, transform).data, i * channels * plane);
    const source = resizeBilinear(maskToPlanes(op.source), width, height);
    const moved = thresholdPlanes(warpPlanes(source, transform));
    for (let p = 0; p < plane; p++) masks[i * plane + p] = moved.data[p]!;
  });
  return { warped, masks, weights: Float32Array.from(regionWeights(operations.map((op) => op.source))) };
}

export interface OptimizationInput {
  model: EditModel;
  /** Packed latent at the edit time (the inversion's result). */
  latent: Float32Array;
  /** What the protected area is pinned to, packed. */
  background: Float32Array;
  /** B laid out like the packed latent. */
  keep: Uint8Array;
  time: number;
  guidance: number;
  kv: KvInputs;
  operations: readonly RegionOperation[];
  schedule: readonly DragIteration[];
  /** After each iteration: its loss (before the update) and the updated latent. */
  onIteration?: (iteration: DragIteration, loss: number, latent: Float32Array) => Promise<void> | void;
}

export async function optimizeLatent(
  input: OptimizationInput,
): Promise<{ latent: Float32Array; losses: number[] }> {
  const { model, time, guidance, kv } = input;
  const { width, height } = model.featureSize;
  const startFeatures = await model.features(input.latent, time, guidance, kv);
  const start: Planes = {
    channels: startFeatures.length / (width * height),
    height,
    width,
    data: startFeatures,
  };
  let latent = input.latent;
  const losses: number[] = [];
  const targetsAt = new Map<number, DragTargets>();
  for (const iteration of input.schedule) {
    let targets = targetsAt.get(iteration.fraction);
    if (!targets) {
      // Only the last fraction is reused (intensify); earlier ones are dropped to bound memory.
      targetsAt.clear();
      targets = dragTargets(start, input.operations, iteration.fraction);
      targetsAt.set(iteration.fraction, targets);
    }
    const { loss, gradient } = await model.dragStep(latent, time, guidance, kv, targets);
    const updated = new Float32Array(latent.length);
    for (let i = 0; i < latent.length; i++) updated[i] = latent[i]! - iteration.learningRate * gradient[i]!;
    latent = blendLatent(updated, input.background, input.keep);
    losses.push(loss);
    await input.onIteration?.(iteration, loss, latent);
  }
  return { latent, losses };
}
