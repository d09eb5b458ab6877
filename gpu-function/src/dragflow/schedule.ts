/**
 * The FLUX shifted timestep schedule and the slices of it that DragFlow inverts and denoises over.
 * t = 1 is pure noise, t = 0 the image.
 */

/** Steps of the full schedule and how many of the noisiest are skipped (method doc). */
export const SCHEDULE_STEPS = 25;
export const SKIPPED_STEPS = 6;

/** mu is linear in the image token count through these two points (FLUX defaults). */
const BASE_TOKENS = 256;
const BASE_SHIFT = 0.5;
const MAX_TOKENS = 4096;
const MAX_SHIFT = 1.15;

/** Image tokens of a FLUX latent: one per 16x16 pixel patch. */
export function imageTokenCount(width: number, height: number): number {
  return Math.floor(width / 16) * Math.floor(height / 16);
}

export function shiftMu(tokens: number): number {
  const slope = (MAX_SHIFT - BASE_SHIFT) / (MAX_TOKENS - BASE_TOKENS);
  return BASE_SHIFT + slope * (tokens - BASE_TOKENS);
}

/** t' = e^mu / (e^mu + 1/t - 1); keeps t = 0 and t = 1 fixed. */
export function shiftTime(t: number, mu: number): number {
  if (t <= 0) return 0;
  const e = Math.exp(mu);
  return e / (e + 1 / t - 1);
}

/** steps + 1 times from 1 down to 0: linspace(1, 0, steps + 1), shifted. */
export function shiftedTimesteps(tokens: number, steps: number = SCHEDULE_STEPS): number[] {
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

/** With 25 steps and 6 skipped: 19 inversion steps and 19 denoising steps. */
export function editTimesteps(
  tokens: number,
  steps: number = SCHEDULE_STEPS,
  skip: number = SKIPPED_STEPS,
): EditTimesteps {
  if (!Number.isInteger(skip) || skip < 0 || skip >= steps) {
    throw new RangeError(`skip must be an integer in [0, ${steps - 1}], got ${skip}`);
  }
  const denoising = shiftedTimesteps(tokens, steps).slice(skip);
  return { inversion: [...denoising].reverse(), denoising, editTime: denoising[0]! };
}
