/**
 * The FLUX shifted timestep schedule and the slices of it that DragFlow inverts and denoises over.
 * t = 1 is pure noise, t = 0 the image. Constants: METHOD.scheduleShift.
 */
import { METHOD } from '@dragflow/shared/presets';

/** Image tokens of a FLUX latent: one per 16x16 pixel patch. */
export function imageTokenCount(width: number, height: number): number {
  return Math.floor(width / 16) * Math.floor(height / 16);
}

/** mu, linear in the token count through (256, 0.5) and (4096, 1.15). */
export function shiftMu(tokens: number): number {
  const { minTokens, minMu, maxTokens, maxMu } = METHOD.scheduleShift;
  return minMu + ((maxMu - minMu) / (maxTokens - minTokens)) * (tokens - minTokens);
}

/** t' = e^mu / (e^mu + 1/t - 1); keeps t = 0 and t = 1 fixed. */
export function shiftTime(t: number, mu: number): number {
  if (t <= 0) return 0;
  const e = Math.exp(mu);
  return e / (e + (1 / t - 1));
}

/** steps + 1 times from 1 down to 0: linspace(1, 0, steps + 1), shifted. */
export function shiftedTimesteps(tokens: number, steps: number): number[] {
  const mu = shiftMu(tokens);
  return Array.from({ length: steps + 1 }, (_, i) => shiftTime(1 - i / steps, mu));
}

export interface EditTimesteps {
  /** Ascending, from 0 to the edit time: the inversion's integration times. */
  inversion: number[];
  /** Descending, from the edit time to 0: the denoising times. */
  denoising: number[];
  /** timesteps[skip]: where the drag optimisation happens. */
  editTime: number;
}

/** steps - skip inversion steps up to timesteps[skip], and as many denoising steps back to 0. */
export function editTimesteps(tokens: number, steps: number, skip: number): EditTimesteps {
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(skip) || skip < 0 || skip >= steps) {
    throw new RangeError(`need integers steps >= 1 and 0 <= skip < steps, got steps ${steps}, skip ${skip}`);
  }
  const denoising = shiftedTimesteps(tokens, steps).slice(skip);
  return { inversion: [...denoising].reverse(), denoising, editTime: denoising[0]! };
}
