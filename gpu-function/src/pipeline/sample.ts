/**
 * Dual-branch FireFlow sampling from the edit time to 0 (method doc, "Sampling with background
 * blending"): the edit branch (edit guidance) from the optimised latent and the reconstruction
 * branch (inversion guidance) from the inverted latent, both on the target prompt (the paper does not
 * say; the official code samples both with its target inputs, dragger.py) and the cached K/V
 * injected by the chosen pairing (kv-order.ts), the edit latent taking the reconstruction's values
 * outside B after every step.
 */
import { sampleDualBranch } from '../dragflow/dual-branch.ts';
import type { VelocityField } from '../dragflow/fireflow.ts';
import { type KvPairing, samplingKvSet } from '../dragflow/kv-order.ts';
import type { KvCache } from './kv-cache.ts';
import type { EditModel } from './model.ts';
import type { TextConditioning } from './prompt-encoder.ts';

export interface SamplingInput {
  model: Pick<EditModel, 'velocityInjected'>;
  edit: Float32Array;
  reconstruction: Float32Array;
  /** Descending times, edit time to 0. */
  times: readonly number[];
  keep: Uint8Array;
  cache: KvCache;
  /** Which captured set each call injects (kv-order.ts). */
  kvPairing: KvPairing;
  editGuidance: number;
  reconstructionGuidance: number;
  /** The target prompt's text, both branches. */
  text: TextConditioning;
  onStep?: (done: number, total: number) => void;
}

export async function sampleEdit(input: SamplingInput): Promise<Float32Array> {
  const { model, cache } = input;
  const total = input.times.length - 1;
  const branch =
    (guidance: number, reportSteps: boolean): VelocityField =>
    async (z, t, call) => {
      const kv = cache.inputs(samplingKvSet(call.call, cache.calls, input.kvPairing));
      const v = await model.velocityInjected(z, t, guidance, input.text, kv);
      // The midpoint call is the last of its step (FireFlow).
      if (reportSteps && call.stage === 'midpoint') input.onStep?.(call.step + 1, total);
      return v;
    };
  const result = await sampleDualBranch({
    edit: input.edit,
    reconstruction: input.reconstruction,
    editVelocity: branch(input.editGuidance, true),
    reconstructionVelocity: branch(input.reconstructionGuidance, false),
    times: input.times,
    keep: input.keep,
  });
  return result.edit;
}
