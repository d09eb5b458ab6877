/**
 * FireFlow (Deng et al., arXiv 2412.07517): a midpoint ODE solver for rectified flow that reuses
 * the previous step's midpoint velocity as the next step's start velocity. Each step costs one
 * velocity evaluation, plus one extra for the very first step: N steps take N + 1 calls.
 *
 * Step from t to t' (h = t' - t), with v0 the reused velocity (or a fresh call on the first step):
 *   z_mid = z + (h/2) v0;   v_mid = v(z_mid, t + h/2);   z' = z + h v_mid;   reuse v_mid next.
 * The same step integrates upward (inversion, t from 0 towards 1) and downward (sampling).
 */

export interface VelocityCall {
  /** 0-based step within the integration. */
  step: number;
  /** Which evaluation of the step: the fresh start velocity (first step only) or the midpoint. */
  stage: 'start' | 'midpoint';
  /** 0-based count of calls made by this solver before this one: an index for K/V caches. */
  call: number;
}

/**
 * The model's velocity at (z, t); the transformer in production, an analytic field in tests.
 * z may be the solver's scratch buffer: read it during the call, never keep or return it.
 */
export type VelocityField = (z: Float32Array, t: number, call: VelocityCall) => Promise<Float32Array>;

export interface StepInfo {
  index: number;
  tFrom: number;
  tTo: number;
}

/** Called after each step with the new latent; a returned array replaces it (e.g. blending). */
export type StepHook = (
  z: Float32Array,
  step: StepInfo,
) => Float32Array | undefined | Promise<Float32Array | undefined>;

export class FireFlowSolver {
  private reusable: Float32Array | null = null;
  /** The midpoint latent, rewritten every step (only the velocity call reads it). */
  private scratch: Float32Array | null = null;
  private calls = 0;

  constructor(private readonly velocity: VelocityField) {}

  get velocityCalls(): number {
    return this.calls;
  }

  async step(z: Float32Array, step: StepInfo): Promise<Float32Array> {
    const h = step.tTo - step.tFrom;
    const start = this.reusable ?? (await this.evaluate(z, step.tFrom, step.index, 'start'));
    this.scratch ??= new Float32Array(z.length);
    const midpoint = await this.evaluate(
      addScaled(z, h / 2, start, this.scratch),
      step.tFrom + h / 2,
      step.index,
      'midpoint',
    );
    this.reusable = midpoint;
    return addScaled(z, h, midpoint);
  }

  private async evaluate(
    z: Float32Array,
    t: number,
    step: number,
    stage: VelocityCall['stage'],
  ): Promise<Float32Array> {
    const v = await this.velocity(z, t, { step, stage, call: this.calls });
    this.calls++;
    if (v.length !== z.length) {
      throw new RangeError(`velocity has ${v.length} elements, the latent ${z.length}`);
    }
    return v;
  }
}

/** Integrates through `times` (ascending to invert, descending to sample); needs >= 2 times. */
export async function integrate(
  z: Float32Array,
  times: readonly number[],
  velocity: VelocityField,
  onStep?: StepHook,
): Promise<{ z: Float32Array; velocityCalls: number }> {
  const solver = new FireFlowSolver(velocity);
  let current = z;
  for (let index = 0; index + 1 < times.length; index++) {
    const step = { index, tFrom: times[index]!, tTo: times[index + 1]! };
    current = await solver.step(current, step);
    current = (await onStep?.(current, step)) ?? current;
  }
  return { z: current, velocityCalls: solver.velocityCalls };
}

/** z + h v, into `out` (a new array by default). */
function addScaled(
  z: Float32Array,
  h: number,
  v: Float32Array,
  out: Float32Array = new Float32Array(z.length),
): Float32Array {
  for (let i = 0; i < z.length; i++) out[i] = z[i]! + h * v[i]!;
  return out;
}
