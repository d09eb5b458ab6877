/**
 * Turns checkpoint tensor names into graph params. Layers only name what they use; the shape
 * comes from the one config-derived key list (checkpoint-keys.ts), so the graph and the
 * checkpoint check can never disagree on a shape.
 */
import type { DType, TensorData } from '../graph/dtype.ts';
import type { ExternalRef, Graph, Tensor } from '../graph/graph.ts';
import type { ParamSpec } from './checkpoint-keys.ts';
import { FluxModelError } from './errors.ts';
import type { ComputeDtype } from './precision.ts';

/** Where the weights come from: in-memory data or external-data references, or nothing (shape-only). */
export type WeightSource = (spec: ParamSpec) => TensorData | ExternalRef | undefined;

export interface WeightOptions {
  /** Weights to attach; omitted: a shape-only graph (checkable, not runnable). */
  readonly source?: WeightSource;
  /**
   * Storage dtype of the weights (e.g. bfloat16 for flux1-dev). A weight stored in the compute
   * dtype is used as stored; otherwise the graph casts it after loading (CPU: float32 compute).
   */
  readonly stored?: DType;
}

export class ParamBinder {
  private readonly specs: Map<string, ParamSpec>;
  private readonly bound = new Map<string, Tensor>();

  constructor(
    readonly graph: Graph,
    specs: readonly ParamSpec[],
    private readonly options: WeightOptions = {},
    /** The dtype the graph computes in: every param is handed out in it. */
    readonly compute: ComputeDtype = 'float32',
  ) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
  }

  /** The param called `name` in the checkpoint; created on first use. */
  param(name: string): Tensor {
    const existing = this.bound.get(name);
    if (existing) return existing;
    const spec = this.specs.get(name);
    if (!spec) {
      throw new FluxModelError(
        'missing_parameter',
        `graph '${this.graph.name}' uses '${name}', which the checkpoint layout lacks`,
      );
    }
    const data = this.options.source?.(spec);
    const stored = this.options.stored ?? this.compute;
    const tensor = this.graph.param(name, this.compute, spec.shape, data, { stored });
    this.bound.set(name, tensor);
    return tensor;
  }

  /** Names of the params this graph uses, in first-use order. */
  boundNames(): string[] {
    return [...this.bound.keys()];
  }
}
