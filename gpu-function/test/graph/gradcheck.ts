/**
 * Finite-difference gradient checks through onnxruntime: the analytic gradient from
 * `appendGradients` against central differences of the same model, along random directions.
 */
import { appendGradients, type GradientOptions } from '../../src/graph/autodiff.ts';
import { Graph, type Tensor } from '../../src/graph/graph.ts';
import { createSession, type Feeds } from '../../src/graph/session.ts';
import { mulberry32 } from '../../src/seeded-random.ts';

/** Seeded, so every check is reproducible. */
export const prng = mulberry32;

export type FloatType = 'float32' | 'float64';

export interface CheckCase {
  dtype: FloatType;
  /** Input name -> shape. */
  inputs: Record<string, number[]>;
  /** Builds the op(s) under test; the loss is a fixed random weighting of the result. */
  build: (g: Graph, x: Record<string, Tensor>) => Tensor;
  /** Inputs to differentiate (default: all). */
  wrt?: string[];
  /** Sample inputs in [0.5, 2] instead of [-2, 2] (log, sqrt, pow). */
  positive?: boolean;
  seed?: number;
}

export interface CheckResult {
  /** Worst relative error over all directional derivatives checked. */
  maxRelativeError: number;
  /** Analytic gradients, by input name. */
  gradients: Record<string, Float64Array>;
  checks: number;
}

function sample(random: () => number, size: number, positive: boolean): number[] {
  return Array.from({ length: size }, () => (positive ? 0.5 + 1.5 * random() : 4 * random() - 2));
}

function typed(dtype: FloatType, values: readonly number[]): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

/** Builds loss = sum(build(...) * R) and its gradients, both as outputs of one graph. */
export function lossGraph(
  c: CheckCase,
  options: GradientOptions = {},
): { graph: Graph; wrt: string[]; forwardNodeCount: number } {
  const random = prng((c.seed ?? 1) * 7919);
  const g = new Graph('gradcheck');
  const x: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(c.inputs)) x[name] = g.input(name, c.dtype, shape);
  const y = c.build(g, x);
  const weights = g.constant(typed(c.dtype, sample(random, y.size, false)), c.dtype, y.shape);
  const loss = g.reduceSum(
    g.mul(y, weights),
    y.shape.map((_, i) => i),
    false,
  );
  g.output('loss', loss);
  const forwardNodeCount = g.nodes.length;
  const wrt = c.wrt ?? Object.keys(c.inputs);
  const grads = appendGradients(
    g,
    loss,
    wrt.map((n) => x[n]!),
    options,
  );
  wrt.forEach((n, i) => {
    g.output(`grad.${n}`, grads[i]!);
  });
  return { graph: g, wrt, forwardNodeCount };
}

export async function gradcheck(c: CheckCase, options: GradientOptions = {}): Promise<CheckResult> {
  const { graph, wrt } = lossGraph(c, options);
  const run = await createSession(graph);
  const random = prng(c.seed ?? 1);
  const base: Record<string, number[]> = {};
  for (const [name, shape] of Object.entries(c.inputs)) {
    base[name] = sample(
      random,
      shape.reduce((a, b) => a * b, 1),
      c.positive ?? false,
    );
  }
  const feeds = (shift?: { name: string; direction: number[]; step: number }): Feeds => {
    const f: Feeds = {};
    for (const [name, values] of Object.entries(base)) {
      const moved =
        shift?.name === name ? values.map((v, i) => v + shift.step * shift.direction[i]!) : values;
      f[name] = typed(c.dtype, moved);
    }
    return f;
  };
  const out = await run(feeds());
  const gradients: Record<string, Float64Array> = {};
  for (const n of wrt) gradients[n] = Float64Array.from(out[`grad.${n}`]!.data as Float64Array);

  const step = c.dtype === 'float64' ? 1e-5 : 3e-3;
  let maxRelativeError = 0;
  let checks = 0;
  for (const name of wrt) {
    for (let d = 0; d < 2; d++) {
      const direction = base[name]!.map(() => (random() < 0.5 ? -1 : 1) * (0.5 + random()));
      const plus = (await run(feeds({ name, direction, step }))).loss!.data[0] as number;
      const minus = (await run(feeds({ name, direction, step: -step }))).loss!.data[0] as number;
      const numeric = (plus - minus) / (2 * step);
      const analytic = gradients[name]!.reduce((acc, v, i) => acc + v * direction[i]!, 0);
      const scale = Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
      maxRelativeError = Math.max(maxRelativeError, Math.abs(numeric - analytic) / scale);
      checks++;
    }
  }
  return { maxRelativeError, gradients, checks };
}

/** The acceptance tolerance for a dtype. */
export function tolerance(dtype: FloatType): number {
  return dtype === 'float64' ? 1e-6 : 1e-3;
}
