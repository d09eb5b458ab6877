/**
 * CLIP's prompt tokenizer: byte-level BPE over `tokenizer/vocab.json` and `merges.txt`, run by
 * @huggingface/tokenizers with the pipeline Hugging Face's fast CLIP tokenizer has (transformers
 * converts the two files into it): NFC, whitespace runs to one space, lowercase; CLIP's word
 * pattern; each word's UTF-8 bytes as printable characters; BPE with '</w>' closing each word.
 * Then `<|startoftext|>`, the first maxLength - 2 ids, `<|endoftext|>`, and the pad token (CLIP-L:
 * `<|endoftext|>` again) up to maxLength = 77 (truncation=True, padding="max_length").
 *
 * Prompt text is never read as special tokens: a prompt containing "<|endoftext|>" is encoded as
 * those characters.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { TextModelError } from './errors.ts';

/** CLIP's words: contractions, letter runs, single digits, other non-space runs. */
const WORD_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export interface ClipTokenizerFiles {
  /** vocab.json: token -> id. */
  readonly vocab: Readonly<Record<string, number>>;
  /** merges.txt lines "a b", in priority order (the "#version" header removed). */
  readonly merges: readonly string[];
  readonly bosToken: string;
  readonly eosToken: string;
  readonly padToken: string;
}

export class ClipPromptTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** Largest id + 1. */
  readonly vocabularySize: number;

  constructor(
    files: ClipTokenizerFiles,
    readonly maxLength: number,
  ) {
    const id = (what: string, token: string) => {
      const value = files.vocab[token];
      if (value === undefined) {
        throw new TextModelError('tokenizer_invalid', `CLIP vocab.json has no ${what} token '${token}'`);
      }
      return value;
    };
    this.bosId = id('start', files.bosToken);
    this.eosId = id('end', files.eosToken);
    this.padId = id('pad', files.padToken);
    this.vocabularySize = Math.max(...Object.values(files.vocab)) + 1;
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new TextModelError(
        'tokenizer_invalid',
        `CLIP max length must be an integer >= 2, got ${maxLength}`,
      );
    }
    this.tokenizer = new Tokenizer(
      {
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'NFC' },
            { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
            { type: 'Lowercase' },
          ],
        },
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: WORD_PATTERN }, behavior: 'Removed', invert: true },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
        model: {
          type: 'BPE',
          vocab: files.vocab,
          merges: files.merges,
          end_of_word_suffix: '</w>',
          continuing_subword_prefix: '',
          unk_token: files.eosToken,
          fuse_unk: false,
          byte_fallback: false,
        },
        post_processor: null,
        decoder: null,
        added_tokens: [],
      },
      {},
    );
  }

  /** The prompt's ids without the start and end tokens, before truncation. */
  pieceIds(prompt: string): number[] {
    return this.tokenizer.encode(prompt, { add_special_tokens: false }).ids;
  }

  /** maxLength ids: start, the prompt's first maxLength - 2, end, then pad. */
  encode(prompt: string): number[] {
    const ids = [this.bosId, ...this.pieceIds(prompt).slice(0, this.maxLength - 2), this.eosId];
    while (ids.length < this.maxLength) ids.push(this.padId);
    return ids;
  }
}

/** merges.txt's lines without its "#version" header and the empty last line. */
export function parseMerges(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line !== '' && !line.startsWith('#version'));
}
