/**
 * The drag optimisation (method doc, "Loss", "Affine transforms", "Update rule"): at the edit time,
 * plain gradient descent on the packed latent against region-level targets that move with the
 * operations' affine schedules (transport: k/K of each transform, then intensify at the full one),
 * each update followed by the hard background constraint z <- B z + (1 - B) z_bg.
 *
 * Targets at feature resolution (h, w): warp(F0, A_i^k) per operation (border padding), and p_i =
 * the source mask resized bilinearly to (h, w), warped by A_i^k with zero padding, > 0.5. The loss and its gradient come from the drag-step graph.
 *
 * The loss of iteration k is taken against that iteration's own target, which moves, so it rises
 * during transport by design. Whether transport does its job is measured separately: the loss of
 * the latent against the FULL transforms (the target transport ends at), after every
 * FULL_TRANSFORM_CHECK_INTERVAL transport updates and at the end of transport. It needs no extra
 * transformer call: the drag step already computes the features of the latent it starts from.
 */

import { METHOD } from '@dragflow/shared/presets';
import { applyAffine, invertAffine } from '../dragflow/affine.ts';
import type { DragIteration } from '../dragflow/drag-schedule.ts';
import { operationTransform, type RegionOperation } from '../dragflow/operation.ts';
import { maskToPlanes } from '../dragflow/region.ts';
import { regionWeights } from '../dragflow/region-weights.ts';
import { type Planes, resampleInto, resizeBilinear } from '../dragflow/resample.ts';
import { warpSoftMask } from '../dragflow/warp.ts';
import type { BinaryMask } from '../image/binary-mask.ts';
import type { KvInputs } from './kv-cache.ts';
import type { EditModel } from './model.ts';
import type { TextConditioning } from './prompt-encoder.ts';

export interface DragTargets {
  /** [R, C, h, w] */
  warped: Float32Array;
  /** [R, 1, h, w], 1 inside p_i. */
  masks: Float32Array;
  /** gamma_i [R] */
  weights: Float32Array;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Smallest box holding every set pixel of a one-channel plane; null when none is set. */
function boundingBox(mask: BinaryMask): Box | null {
  let x0 = mask.width;
  let y0 = mask.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * The supervision targets of every operation, rewritten in place as the fraction moves: transport
 * supervises 50 fractions, and a fresh [R, C, h, w] map for each would be mostly zeros to allocate
 * and clear. The loss reads warp(F0) only where p is set, so the features are warped only over p's
 * bounding box (the same samples as warp.ts warpPlanes there) and left 0 elsewhere; moving on
 * clears just the previous boxes.
 */
export class MovingTargets {
  readonly targets: DragTargets;
  private readonly sources: Planes[];
  private readonly boxes: (Box | null)[];
  private fraction: number | null = null;

  constructor(
    private readonly start: Planes,
    private readonly operations: readonly RegionOperation[],
    weights: Float32Array = Float32Array.from(regionWeights(operations.map((op) => op.source))),
  ) {
    const { channels, height, width } = start;
    this.targets = {
      warped: new Float32Array(operations.length * channels * height * width),
      masks: new Float32Array(operations.length * height * width),
      weights,
    };
    this.sources = operations.map((op) => resizeBilinear(maskToPlanes(op.source), width, height));
    this.boxes = operations.map(() => null);
  }

  /** The targets at `fraction` of every operation's motion (valid until the next call). */
  at(fraction: number): DragTargets {
    if (fraction === this.fraction) return this.targets;
    const { height, width } = this.start;
    const plane = height * width;
    const { masks } = this.targets;
    this.operations.forEach((op, i) => {
      const transform = operationTransform(op, fraction, { width, height });
      const moved = warpSoftMask(this.sources[i]!, transform);
      masks.set(moved.data, i * plane);
      const previous = this.boxes[i];
      if (previous) this.clearBox(i, previous);
      const box = boundingBox(moved);
      this.boxes[i] = box;
      if (!box) return;
      const inverse = invertAffine(transform);
      resampleInto(
        this.start,
        box.width,
        box.height,
        (x, y) => {
          const p = applyAffine(inverse, { x: x + box.x, y: y + box.y });
          return [p.x, p.y];
        },
        METHOD.warp.featurePadding,
        {
          data: this.targets.warped,
          rowStart: (c, y) => this.boxRow(i, box, c, y),
        },
      );
    });
    this.fraction = fraction;
    return this.targets;
  }

  /** Where row y of the box starts in channel c of the region's warped map. */
  private boxRow(region: number, box: Box, c: number, y: number): number {
    const { channels, height, width } = this.start;
    return ((region * channels + c) * height + box.y + y) * width + box.x;
  }

  /** Zeros the region's warped map over the box. */
  private clearBox(region: number, box: Box): void {
    for (let c = 0; c < this.start.channels; c++) {
      for (let y = 0; y < box.height; y++) {
        const row = this.boxRow(region, box, c, y);
        this.targets.warped.fill(0, row, row + box.width);
      }
    }
  }
}

/** The supervision targets of every operation at `fraction` of its motion, in buffers of their own. */
export function dragTargets(
  start: Planes,
  operations: readonly RegionOperation[],
  fraction: number,
  weights?: Float32Array,
): DragTargets {
  return new MovingTargets(start, operations, weights).at(fraction);
}

/** Positions of the set entries of a 0/1 mask. */
function setPositions(mask: Uint8Array): Int32Array {
  const positions = new Int32Array(mask.reduce((n, v) => n + (v ? 1 : 0), 0));
  let next = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) positions[next++] = i;
  return positions;
}

/**
 * z <- z - lr dL/dz inside B. The hard background constraint z <- B z + (1 - B) z_bg is applied in
 * full after the first update only: from then on the latent outside B already holds z_bg.
 */
function descend(latent: Float32Array, gradient: Float32Array, lr: number, editable: Int32Array): void {
  for (let j = 0; j < editable.length; j++) {
    const i = editable[j]!;
    latent[i] = latent[i]! - lr * gradient[i]!;
  }
}

/** Transport updates between two measurements of the loss to the full transforms. */
export const FULL_TRANSFORM_CHECK_INTERVAL = 10;

/**
 * sum_i gamma_i mean(|F p_i - warp(F0)_i p_i|), the mean over all C h w elements: the drag-step
 * graph's loss (flux/drag-step.ts regionLoss) on the host, for features the graph already returned.
 */
export function regionLossOf(features: Float32Array, targets: DragTargets): number {
  const regions = targets.weights.length;
  const elements = features.length;
  const plane = targets.masks.length / regions;
  let total = 0;
  for (let i = 0; i < regions; i++) {
    const mask = targets.masks.subarray(i * plane, (i + 1) * plane);
    const warped = targets.warped.subarray(i * elements, (i + 1) * elements);
    let sum = 0;
    for (let c = 0; c < elements; c += plane) {
      for (let p = 0; p < plane; p++) {
        if (mask[p]) sum += Math.abs(features[c + p]! - warped[c + p]!);
      }
    }
    total += (targets.weights[i]! * sum) / elements;
  }
  return total;
}

/** The loss to the full transforms after `updates` transport iterations. */
export interface FullTransformLoss {
  updates: number;
  loss: number;
}

export interface IterationReport {
  iteration: DragIteration;
  /** Loss against this iteration's target, before its update. */
  loss: number;
  /** Loss against the full transforms, before this iteration's update, when measured. */
  fullTransformLoss?: number;
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
  /** The target prompt's text (supervision uses the target prompt). */
  text: TextConditioning;
  kv: KvInputs;
  operations: readonly RegionOperation[];
  schedule: readonly DragIteration[];
  /** After each iteration: its losses (before the update) and the updated latent. */
  onIteration?: (report: IterationReport, latent: Float32Array) => Promise<void> | void;
}

export interface OptimizationResult {
  latent: Float32Array;
  /**
   * Host memory of the supervision: F0 and two target sets (the full transforms and the moving
   * ones), each R maps [C, h, w] of float32, and their masks.
   */
  supervisionBytes: number;
  /** Loss at every iteration against its own target, before its update. */
  losses: number[];
  /** Loss to the full transforms after 0, N, 2N, ... transport updates and at the end of transport. */
  fullTransformLosses: FullTransformLoss[];
}

export async function optimizeLatent(input: OptimizationInput): Promise<OptimizationResult> {
  const { model, time, guidance, text, kv } = input;
  const { width, height } = model.featureSize;
  const startFeatures = await model.features(input.latent, time, guidance, text, kv);
  const start: Planes = {
    channels: startFeatures.length / (width * height),
    height,
    width,
    data: startFeatures,
  };
  const weights = Float32Array.from(regionWeights(input.operations.map((op) => op.source)));
  // Updated in place; the input latent stays untouched (it starts the reconstruction branch).
  const latent = input.latent.slice();
  const { background, keep } = input;
  const editable = setPositions(keep);
  let pinned = false;
  const losses: number[] = [];
  const full = dragTargets(start, input.operations, 1, weights);
  const moving = new MovingTargets(start, input.operations, weights);
  const transportUpdates = input.schedule.filter((it) => it.phase === 'transport').length;
  const measured = (updates: number) =>
    updates <= transportUpdates &&
    (updates % FULL_TRANSFORM_CHECK_INTERVAL === 0 || updates === transportUpdates);
  const fullTransformLosses: FullTransformLoss[] = [];
  for (const iteration of input.schedule) {
    const targets = iteration.fraction === 1 ? full : moving.at(iteration.fraction);
    const updates = iteration.iteration - 1;
    // Before any update the features are F0's, already at hand.
    const fetchFeatures = measured(updates) && updates > 0;
    const step = await model.dragStep(latent, time, guidance, text, kv, targets, fetchFeatures);
    const report: IterationReport = { iteration, loss: step.loss };
    if (measured(updates)) {
      report.fullTransformLoss = regionLossOf(step.features ?? start.data, full);
      fullTransformLosses.push({ updates, loss: report.fullTransformLoss });
    }
    descend(latent, step.gradient, iteration.learningRate, editable);
    if (!pinned) {
      for (let i = 0; i < latent.length; i++) if (!keep[i]) latent[i] = background[i]!;
      pinned = true;
    }
    losses.push(step.loss);
    await input.onIteration?.(report, latent);
  }
  if (transportUpdates > 0 && transportUpdates === input.schedule.length) {
    // No intensify step reads the features at the end of transport: one features call does.
    const features = await model.features(latent, time, guidance, text, kv);
    fullTransformLosses.push({ updates: transportUpdates, loss: regionLossOf(features, full) });
  }
  const supervisionBytes = [start.data, full.warped, full.masks, moving.targets.warped, moving.targets.masks]
    .map((a) => a.byteLength)
    .reduce((a, b) => a + b, 0);
  return { latent, supervisionBytes, losses, fullTransformLosses };
}
