import { describe, expect, it } from 'vitest';
import { sampleDualBranch } from '../../src/dragflow/dual-branch.ts';
import type { VelocityField } from '../../src/dragflow/fireflow.ts';

const constant =
  (value: number): VelocityField =>
  async (z) =>
    new Float32Array(z.length).fill(value);

describe('sampleDualBranch', () => {
  it('steps both branches and pins the edit to the reconstruction outside B after every step', async () => {
    // Velocities -1 (edit) and -2 (reconstruction) from t = 1 to 0 in two steps: each step of
    // h = -0.5 adds 0.5 and 1. Element 0 is inside B, element 1 outside.
    const seenByEdit: number[] = [];
    const editVelocity: VelocityField = async (z, t, call) => {
      if (call.stage === 'midpoint') seenByEdit.push(z[1]!);
      return constant(-1)(z, t, call);
    };
    const result = await sampleDualBranch({
      edit: Float32Array.of(10, 10),
      reconstruction: Float32Array.of(0, 0),
      editVelocity,
      reconstructionVelocity: constant(-2),
      times: [1, 0.5, 0],
      keep: Uint8Array.of(1, 0),
    });
    expect([...result.reconstruction]).toEqual([2, 2]);
    expect([...result.edit]).toEqual([11, 2]);
    // The second edit step starts from the blended latent: element 1 = 1 (pinned) + 0.25.
    expect(seenByEdit).toEqual([10.25, 1.25]);
    expect(result.velocityCalls).toBe(6);
  });
});
