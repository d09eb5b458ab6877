/**
 * FireFlow inversion from the image latent (t = 0) up to the edit time, with the background prompt
 * and the inversion guidance, capturing the injected blocks' K/V at every call into the cache.
 */
import { integrate } from '../dragflow/fireflow.ts';
import type { KvCache } from './kv-cache.ts';
import type { EditModel } from './model.ts';
import type { TextConditioning } from './prompt-encoder.ts';

export interface InversionInput {
  model: EditModel;
  /** Packed image latent. */
  latent: Float32Array;
  /** Ascending times from 0 to the edit time. */
  times: readonly number[];
  guidance: number;
  /** The source (background) prompt's text. */
  text: TextConditioning;
  cache: KvCache;
  onStep?: (done: number, total: number) => void;
}

export async function invert(input: InversionInput): Promise<Float32Array> {
  const { model, guidance, cache } = input;
  const total = input.times.length - 1;
  const { z } = await integrate(
    input.latent,
    input.times,
    async (z, t) => {
      const { velocity, captured } = await model.velocityCapturing(z, t, guidance, input.text);
      cache.store(captured);
      return velocity;
    },
    (_z, step) => {
      input.onStep?.(step.index + 1, total);
      return undefined;
    },
  );
  return z;
}
