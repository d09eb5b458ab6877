/**
 * Per-edit measurements: transformer calls, forward-pass equivalents, time per phase, time inside
 * onnxruntime, peak memory.
 *
 * Forward-pass equivalents count work in units of one full transformer forward at the edit's size.
 * Per token, a double block (two streams) and a single block cost the same: linear layers
 * 2 (4 + 2 mlpRatio) hidden^2 FLOPs plus joint attention 4 (text + image tokens) hidden. So a pass
 * through the first k double blocks is k / (double + single blocks) of a forward; a drag step is that
 * forward plus a backward of about the same cost (gradients w.r.t. the latent only, not the weights).
 */
import type { ProgressPhase } from '@dragflow/shared/job';
import type { FluxConfig } from '../flux/config.ts';
import type { FeatureTap } from '../flux/features.ts';
import type { FullTransformLoss } from './optimize.ts';
import type { EditEstimate } from './work-plan.ts';

export type CallKind = 'velocity' | 'features' | 'drag_step' | 'vae';

/** Share of a full forward that a pass through the blocks up to the deepest tap costs. */
export function trunkFraction(config: FluxConfig, taps: readonly FeatureTap[]): number {
  const deepest = Math.max(...taps.map((t) => t.block)) + 1;
  return deepest / (config.depth + config.depthSingleBlocks);
}

export class CallCounter {
  readonly calls: Record<CallKind, number> = { velocity: 0, features: 0, drag_step: 0, vae: 0 };
  onnxSeconds = 0;
  private readonly trunkFraction: number;

  constructor(config: FluxConfig, taps: readonly FeatureTap[]) {
    this.trunkFraction = trunkFraction(config, taps);
  }

  get transformerCalls(): number {
    return this.calls.velocity + this.calls.features + this.calls.drag_step;
  }

  get forwardEquivalents(): number {
    const { velocity, features, drag_step: dragStep } = this.calls;
    return velocity + this.trunkFraction * (features + 2 * dragStep);
  }

  record(kind: CallKind, seconds: number): void {
    this.calls[kind]++;
    this.onnxSeconds += seconds;
  }
}

/** Wall time per phase; each phase is timed from its start to the next phase's start. */
export class PhaseClock {
  readonly seconds: Partial<Record<ProgressPhase, number>> = {};
  private current: { phase: ProgressPhase; started: number } | null = null;
  private readonly started = performance.now();

  enter(phase: ProgressPhase): void {
    this.leave();
    this.current = { phase, started: performance.now() };
  }

  leave(): void {
    if (!this.current) return;
    const { phase, started } = this.current;
    this.seconds[phase] = (this.seconds[phase] ?? 0) + (performance.now() - started) / 1000;
    this.current = null;
  }

  get total(): number {
    return (performance.now() - this.started) / 1000;
  }
}

export interface EditMetrics {
  model: string;
  /** False for bundles whose weights know nothing about images (the demo): edits show the mechanics only. */
  generative_prior: boolean;
  image: { width: number; height: number };
  working_image: { width: number; height: number };
  /** The part of the image the model saw (work-plan.ts), resized to working_image. */
  working_crop: { x: number; y: number; width: number; height: number };
  /** What the plan predicted before any work (work-plan.ts EditEstimate). */
  estimate: EditEstimate;
  operations: number;
  transformer_calls: number;
  calls: Record<CallKind, number>;
  forward_pass_equivalents: number;
  phase_seconds: Partial<Record<ProgressPhase, number>>;
  total_seconds: number;
  onnx_seconds: number;
  /** Share of the total time spent outside onnxruntime calls (host work: warps, blending, I/O). */
  outside_onnx_share: number;
  /** Process-wide peak resident memory so far (getrusage maxrss), onnxruntime's native memory included. */
  peak_rss_bytes: number;
  kv_cache_bytes: number;
  kv_cache_calls: number;
  /** Prompts the text encoders ran on in this edit (0 without encoders, or when every prompt was cached). */
  text_encoder_runs: number;
  /** Loss at every drag iteration (before its update), transport then intensify. */
  losses: number[];
  /**
   * Loss to the FULL transforms after 0, 10, 20, ... transport updates and at the end of transport
   * (optimize.ts): falls when transport moves the regions where the edit asks.
   */
  full_transform_losses: FullTransformLoss[];
  learning_rates: { transport: number; intensify: number };
  /** Size of the supervised feature maps (the working image / s, reference code). */
  feature_map: { width: number; height: number };
  /** B's share of the image. */
  /** One float32 supervision map [C, h, w] (F(z) or F0): what each copy costs on host and device. */
  feature_map_bytes: number;
  /** Host memory of F0 and the drag targets (optimize.ts supervisionBytes). */
  supervision_host_bytes: number;
  editable_area_fraction: number;
  /** With drags: output pixels outside the request's editable_mask that differ from the input. */
  outside_editable_mask?: { pixels: number; changed: number; share: number };
  notes: string[];
}

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
