import { PRESETS } from '@dragflow/shared/presets';
import { describe, expect, it } from 'vitest';
import { backgroundLatent } from '../../src/pipeline/background-latent.ts';

describe('z_bg per preset', () => {
  const inverted = Float32Array.of(1, 0.5, -2);
  const denoising = [0.75, 0.5, 0.25, 0];

  async function zBg(preset: keyof typeof PRESETS) {
    const calls: { z: Float32Array; t: number; guidance: number }[] = [];
    const result = await backgroundLatent({
      settings: PRESETS[preset],
      inverted,
      denoising,
      velocity: async (z, t, guidance) => {
        calls.push({ z, t, guidance });
        return Float32Array.of(2, -4, 8);
      },
    });
    return { result, calls };
  }

  it('paper: the inverted latent itself (the reconstruction path at the edit time), no model call', async () => {
    const { result, calls } = await zBg('paper');
    expect(Array.from(result)).toEqual([1, 0.5, -2]);
    expect(calls).toEqual([]);
  });

  it('reference_code: half a step (0.5 - 0.75) / 2 with the velocity at the edit time and edit guidance 3.5', async () => {
    const { result, calls } = await zBg('reference_code');
    // z + (-0.125) v: 1 - 0.25, 0.5 + 0.5, -2 - 1.
    expect(Array.from(result)).toEqual([0.75, 1, -3]);
    expect(calls.length).toBe(1);
    expect(calls[0]!.z).toBe(inverted);
    expect([calls[0]!.t, calls[0]!.guidance]).toEqual([0.75, 3.5]);
    expect(Array.from(inverted)).toEqual([1, 0.5, -2]);
  });
});
