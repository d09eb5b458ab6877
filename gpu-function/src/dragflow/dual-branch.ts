/**
 * Dual-branch sampling (method doc, "Sampling with background blending"): the edit branch and the
 * reconstruction branch are denoised in lockstep with FireFlow, and after every step the edit
 * latent takes the reconstruction's values outside B.
 */
import { blendLatent } from './composite.ts';
import { FireFlowSolver, type VelocityField } from './fireflow.ts';

export interface DualBranchInput {
  /** The optimised latent (edit branch start). */
  edit: Float32Array;
  /** The inverted latent (reconstruction branch start). */
  reconstruction: Float32Array;
  editVelocity: VelocityField;
  reconstructionVelocity: VelocityField;
  /** Descending times, edit time to 0. */
  times: readonly number[];
  /** B laid out like the latents (composite.ts packedLatentMask or unpackedLatentMask). */
  keep: Uint8Array;
}

export interface DualBranchResult {
  edit: Float32Array;
  reconstruction: Float32Array;
  velocityCalls: number;
}

export async function sampleDualBranch(input: DualBranchInput): Promise<DualBranchResult> {
  const editSolver = new FireFlowSolver(input.editVelocity);
  const reconstructionSolver = new FireFlowSolver(input.reconstructionVelocity);
  let edit = input.edit;
  let reconstruction = input.reconstruction;
  for (let index = 0; index + 1 < input.times.length; index++) {
    const step = { index, tFrom: input.times[index]!, tTo: input.times[index + 1]! };
    reconstruction = await reconstructionSolver.step(reconstruction, step);
    // The step's result is a fresh array: blend it in place.
    const stepped = await editSolver.step(edit, step);
    edit = blendLatent(stepped, reconstruction, input.keep, stepped);
  }
  return {
    edit,
    reconstruction,
    velocityCalls: editSolver.velocityCalls + reconstructionSolver.velocityCalls,
  };
}
