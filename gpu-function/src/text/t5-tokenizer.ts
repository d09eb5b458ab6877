/**
 * T5's prompt tokenizer as FLUX.1's reference runs it (Hugging Face `T5Tokenizer`, which wraps
 * SentencePiece): the SentencePiece unigram model read from `tokenizer_2/spiece.model`, then the
 * first maxLength - 1 ids, `</s>`, and `<pad>` up to maxLength (512 for FLUX.1-dev, 256 for
 * schnell; truncation=True, padding="max_length").
 *
 * The unigram segmentation (Viterbi over the pieces' scores, unknown characters fused into one
 * `<unk>`) is @huggingface/tokenizers' Unigram model. The normalization is SentencePiece's own
 * (precompiled-charsmap.ts): the library approximates the precompiled map with NFKC, which differs
 * from it on some characters.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { TextModelError } from './errors.ts';
import { normalizeWithCharsmap } from './precompiled-charsmap.ts';
import type { SentencePieceModel } from './sentencepiece-model.ts';

/** SentencePiece's whitespace mark: a space becomes this before segmentation. */
const SPACE_MARK = '\u2581';

/**
 * SentencePiece never produces control, unused or unknown pieces from text, but the library's
 * Unigram model has no piece types: they enter its vocabulary under a name normalized text cannot
 * contain (normalization removes U+0000), so no text segment can match them.
 */
const UNMATCHABLE = '\u0000';

export class T5PromptTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly eosId: number;
  readonly padId: number;
  readonly vocabularySize: number;

  constructor(
    private readonly model: SentencePieceModel,
    readonly maxLength: number,
  ) {
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new TextModelError(
        'tokenizer_invalid',
        `T5 max length must be an integer >= 2, got ${maxLength}`,
      );
    }
    this.eosId = model.eosId;
    this.padId = model.padId;
    this.vocabularySize = model.pieces.length;
    const vocab = model.pieces.map(({ piece, score, type }) => [
      type === 'normal' || type === 'user_defined' ? piece : `${UNMATCHABLE}${piece}`,
      score,
    ]);
    this.tokenizer = new Tokenizer(
      {
        normalizer: null,
        pre_tokenizer: null,
        model: { type: 'Unigram', unk_id: model.unkId, vocab, byte_fallback: false },
        post_processor: null,
        decoder: null,
        added_tokens: [],
      },
      {},
    );
  }

  /**
   * SentencePiece's normalized form: the charsmap, leading spaces dropped and runs of spaces kept
   * once, the dummy prefix, spaces marked, trailing marks dropped (sentencepiece normalizer.cc order).
   */
  normalize(prompt: string): string {
    const remove = this.model.removeExtraWhitespaces;
    let text = normalizeWithCharsmap(this.model.charsmap, prompt);
    if (remove) text = text.replace(/^ +/, '').replace(/ {2,}/g, ' ');
    if (this.model.addDummyPrefix) text = ` ${text}`;
    text = text.replaceAll(' ', SPACE_MARK);
    return remove ? text.replace(/\u2581+$/, '') : text;
  }

  /** The prompt's ids before truncation and `</s>`. */
  pieceIds(prompt: string): number[] {
    const normalized = this.normalize(prompt);
    if (normalized === '') return [];
    return this.tokenizer.encode(normalized, { add_special_tokens: false }).ids;
  }

  /** maxLength ids: the prompt's first maxLength - 1, `</s>`, then `<pad>`. */
  encode(prompt: string): number[] {
    const ids = [...this.pieceIds(prompt).slice(0, this.maxLength - 1), this.eosId];
    while (ids.length < this.maxLength) ids.push(this.padId);
    return ids;
  }
}
