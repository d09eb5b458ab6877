/**
 * The tokenizer files of the FLUX.1 repository layout (also a bundle's): `tokenizer/` holds CLIP's
 * vocab.json, merges.txt and special_tokens_map.json; `tokenizer_2/` T5's spiece.model. Optional
 * config files next to them are carried into bundles for provenance but not read.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClipPromptTokenizer, parseMerges } from './clip-tokenizer.ts';
import { TextModelError } from './errors.ts';
import { parseSentencePieceModel } from './sentencepiece-model.ts';
import { T5PromptTokenizer } from './t5-tokenizer.ts';

export const CLIP_TOKENIZER_DIR = 'tokenizer';
export const T5_TOKENIZER_DIR = 'tokenizer_2';

/** Files each tokenizer needs, relative to the model folder. */
export const REQUIRED_TOKENIZER_FILES = {
  clip: [
    `${CLIP_TOKENIZER_DIR}/vocab.json`,
    `${CLIP_TOKENIZER_DIR}/merges.txt`,
    `${CLIP_TOKENIZER_DIR}/special_tokens_map.json`,
  ],
  t5: [`${T5_TOKENIZER_DIR}/spiece.model`],
} as const;

/** Files carried when present (the reference's tokenizer settings, for provenance). */
export const OPTIONAL_TOKENIZER_FILES = [
  `${CLIP_TOKENIZER_DIR}/tokenizer_config.json`,
  `${T5_TOKENIZER_DIR}/special_tokens_map.json`,
  `${T5_TOKENIZER_DIR}/tokenizer_config.json`,
] as const;

/** Largest tokenizer file read (CLIP-L's vocab.json is 1.6 MiB, its merges.txt 512 KiB). */
export const MAX_TOKENIZER_FILE_BYTES = 16 * 1024 * 1024;

export interface PromptTokenizers {
  readonly t5: T5PromptTokenizer;
  readonly clip: ClipPromptTokenizer;
}

export interface TokenizerLengths {
  /** T5 padded length: 512 (FLUX.1-dev) or 256 (schnell); the transformer's text tokens. */
  readonly t5: number;
  /** CLIP padded length: 77. */
  readonly clip: number;
}

async function readLimited(root: string, file: string): Promise<Buffer> {
  const path = join(root, file);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw new TextModelError('tokenizer_invalid', `${file} is missing from ${root}`);
  if (info.size > MAX_TOKENIZER_FILE_BYTES) {
    throw new TextModelError(
      'tokenizer_invalid',
      `${file}: ${info.size} bytes, more than the ${MAX_TOKENIZER_FILE_BYTES}-byte limit`,
    );
  }
  return readFile(path);
}

function parseJson(file: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new TextModelError('tokenizer_invalid', `${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** A special token as special_tokens_map.json gives it: a string or `{ content }`. */
function specialToken(file: string, map: Record<string, unknown>, key: string): string {
  const value = map[key];
  const content =
    typeof value === 'object' && value !== null ? (value as { content?: unknown }).content : value;
  if (typeof content !== 'string' || content === '') {
    throw new TextModelError('tokenizer_invalid', `${file}: no ${key}`);
  }
  return content;
}

function vocabulary(file: string, value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TextModelError('tokenizer_invalid', `${file}: not a token -> id object`);
  }
  for (const [token, id] of Object.entries(value)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new TextModelError(
        'tokenizer_invalid',
        `${file}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}`,
      );
    }
  }
  return value as Record<string, number>;
}

/** Both prompt tokenizers from a folder in the FLUX.1 repository layout (or a bundle). */
export async function loadPromptTokenizers(
  root: string,
  lengths: TokenizerLengths,
): Promise<PromptTokenizers> {
  const [vocabFile, mergesFile, specialFile] = REQUIRED_TOKENIZER_FILES.clip;
  const special = parseJson(specialFile, await readLimited(root, specialFile)) as Record<string, unknown>;
  const clip = new ClipPromptTokenizer(
    {
      vocab: vocabulary(vocabFile, parseJson(vocabFile, await readLimited(root, vocabFile))),
      merges: parseMerges((await readLimited(root, mergesFile)).toString('utf8')),
      bosToken: specialToken(specialFile, special, 'bos_token'),
      eosToken: specialToken(specialFile, special, 'eos_token'),
      padToken: specialToken(specialFile, special, 'pad_token'),
    },
    lengths.clip,
  );
  const [spieceFile] = REQUIRED_TOKENIZER_FILES.t5;
  const t5 = new T5PromptTokenizer(
    parseSentencePieceModel(await readLimited(root, spieceFile), spieceFile),
    lengths.t5,
  );
  return { t5, clip };
}
