/**
 * What the text encoder graphs share: input and output names, the options every builder takes,
 * and the limits on batch and token counts.
 */
import type { WeightOptions } from '../flux/param-binder.ts';
import { TextModelError } from './errors.ts';

export const textNames = {
  /** Token ids [B, T], int64, as the tokenizer pads them. */
  inputIds: 'input_ids',
  /** Every token's final hidden state [B, T, width] (T5: FLUX's `txt`). */
  lastHiddenState: 'last_hidden_state',
  /** CLIP's final-normed end-of-text token [B, width] (FLUX's `y`). */
  pooled: 'pooler_output',
} as const;

/** Largest batch and token count an encoder graph may be built for. */
export const TEXT_LIMITS = { batch: 8, tokens: 512 } as const;

export interface TextGraphOptions {
  readonly batch: number;
  /** Sequence length: the tokenizer's padded length (T5 512 or 256, CLIP 77). */
  readonly tokens: number;
  readonly weights?: WeightOptions;
}

export function checkTextGraphOptions(
  options: TextGraphOptions,
  maxTokens: number = TEXT_LIMITS.tokens,
): void {
  const check = (what: string, value: number, max: number) => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new TextModelError(
        'invalid_input_shape',
        `${what} must be an integer in [1, ${max}], got ${value}`,
      );
    }
  };
  check('batch', options.batch, TEXT_LIMITS.batch);
  check('tokens', options.tokens, Math.min(maxTokens, TEXT_LIMITS.tokens));
}
