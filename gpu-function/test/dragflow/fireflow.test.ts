import { describe, expect, it } from 'vitest';
import {
  FireFlowSolver,
  integrate,
  type VelocityCall,
  type VelocityField,
} from '../../src/dragflow/fireflow.ts';
import { editTimesteps } from '../../src/dragflow/schedule.ts';

/** 19 inversion steps of a 512 x 512 edit: t from 0 up to 0.856. */
const { inversion, denoising } = editTimesteps(1024, 25, 6);

const zeroVelocity: VelocityField = async (z) => new Float32Array(z.length);

/**
 * v(z) = A z + b on (x, y) pairs with A = [[0, -w], [w, 0]]: a rotation about -A^-1 b, so the
 * exact flow is z(t) = R(w (t - t0)) (z0 + c) - c with c = A^-1 b = (b_y / w, -b_x / w).
 */
const w = 1.3;
const b = [0.3, -0.2] as const;
const linearVelocity: VelocityField = async (z) => {
  const v = new Float32Array(z.length);
  for (let i = 0; i < z.length; i += 2) {
    v[i] = -w * z[i + 1]! + b[0];
    v[i + 1] = w * z[i]! + b[1];
  }
  return v;
};
function exactFlow(z0: Float32Array, dt: number): Float64Array {
  const c = [b[1] / w, -b[0] / w];
  const cos = Math.cos(w * dt);
  const sin = Math.sin(w * dt);
  const out = new Float64Array(z0.length);
  for (let i = 0; i < z0.length; i += 2) {
    const x = z0[i]! + c[0]!;
    const y = z0[i + 1]! + c[1]!;
    out[i] = cos * x - sin * y - c[0]!;
    out[i + 1] = sin * x + cos * y - c[1]!;
  }
  return out;
}
function maxAbsDiff(a: ArrayLike<number>, c: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - c[i]!));
  return max;
}

const z0 = Float32Array.from([0.5, -1.2, 2.0, 0.7, -0.3, 0.0, 1.1, 1.9]);

describe('FireFlow', () => {
  it('is the identity for a zero velocity, with steps + 1 velocity calls', async () => {
    const inverted = await integrate(z0, inversion, zeroVelocity);
    expect([...inverted.z]).toEqual([...z0]);
    expect(inverted.velocityCalls).toBe(20);
    const sampled = await integrate(inverted.z, denoising, zeroVelocity);
    expect([...sampled.z]).toEqual([...z0]);
  });

  it('follows an analytic linear flow to second order', async () => {
    const { z, velocityCalls } = await integrate(z0, inversion, linearVelocity);
    expect(velocityCalls).toBe(20);
    const error = maxAbsDiff(z, exactFlow(z0, inversion[19]!));
    // Measured 3.5e-3 (|z| ~ 2, turned by 1.1 rad over 19 uneven steps); halving every step
    // (38 steps) cuts it by 3.8, the factor 4 of a second-order method.
    expect(error).toBeLessThan(5e-3);
    const fine = inversion.flatMap((t, i) => (i === 0 ? [t] : [(inversion[i - 1]! + t) / 2, t]));
    const fineError = maxAbsDiff(
      (await integrate(z0, fine, linearVelocity)).z,
      exactFlow(z0, inversion[19]!),
    );
    expect(error / fineError).toBeGreaterThan(3);
    expect(error / fineError).toBeLessThan(5);
  });

  it('inverts then samples back to the start latent (measured 3.6e-4)', async () => {
    const inverted = await integrate(z0, inversion, linearVelocity);
    const { z, velocityCalls } = await integrate(inverted.z, denoising, linearVelocity);
    expect(velocityCalls).toBe(20);
    expect(maxAbsDiff(z, z0)).toBeLessThan(1e-3);
  });

  it('evaluates a fresh start velocity only on the first step, then one midpoint per step', async () => {
    const calls: (VelocityCall & { t: number })[] = [];
    const recording: VelocityField = async (z, t, call) => {
      calls.push({ ...call, t });
      return new Float32Array(z.length);
    };
    await integrate(z0, [0, 0.2, 0.6], recording);
    expect(calls).toEqual([
      { step: 0, stage: 'start', call: 0, t: 0 },
      { step: 0, stage: 'midpoint', call: 1, t: 0.1 },
      { step: 1, stage: 'midpoint', call: 2, t: 0.4 },
    ]);
  });

  it('reuses the midpoint velocity: one step is z + h v(z + h/2 v0)', async () => {
    const solver = new FireFlowSolver(async (z) => Float32Array.from(z, (x) => 2 * x));
    // v = 2z from z = 1 over h = 0.5: v0 = 2, z_mid = 1.5, v_mid = 3, z' = 2.5.
    const first = await solver.step(Float32Array.of(1), { index: 0, tFrom: 0, tTo: 0.5 });
    expect([...first]).toEqual([2.5]);
    // Next step starts from the reused v_mid = 3: z_mid = 2.5 + 0.25 * 3 = 3.25, v_mid = 6.5, z' = 5.75.
    const second = await solver.step(first, { index: 1, tFrom: 0.5, tTo: 1 });
    expect([...second]).toEqual([5.75]);
    expect(solver.velocityCalls).toBe(3);
  });

  it('lets a step hook replace the latent', async () => {
    const seen: number[] = [];
    const { z } = await integrate(Float32Array.of(1), [1, 0.5, 0], zeroVelocity, (latent, step) => {
      seen.push(step.index);
      return Float32Array.of(latent[0]! + 1);
    });
    expect(seen).toEqual([0, 1]);
    expect([...z]).toEqual([3]);
  });

  it('rejects a velocity of the wrong size', async () => {
    await expect(integrate(z0, [0, 1], async () => new Float32Array(3))).rejects.toThrow(/3 elements/);
  });
});
