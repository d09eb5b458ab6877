/**
 * Reads a SentencePiece model file (`spiece.model`, T5's tokenizer) into what a unigram tokenizer
 * needs: every piece with its score and type, the special ids, and the normalizer settings with
 * the precompiled character map.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { TextModelError } from './errors.ts';

const root = protobuf.parse(readFileSync(new URL('./sentencepiece_model.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;
const ModelProto = root.lookupType('sentencepiece.ModelProto');

/** Largest model file accepted (T5's is 792 KiB). */
export const MAX_SENTENCEPIECE_BYTES = 16 * 1024 * 1024;

export type PieceType = 'normal' | 'unknown' | 'control' | 'user_defined' | 'unused' | 'byte';

const PIECE_TYPES: Readonly<Record<number, PieceType>> = {
  1: 'normal',
  2: 'unknown',
  3: 'control',
  4: 'user_defined',
  5: 'unused',
  6: 'byte',
};

export interface SentencePieceModel {
  readonly pieces: readonly { piece: string; score: number; type: PieceType }[];
  readonly unkId: number;
  readonly eosId: number;
  readonly padId: number;
  /** nmt_nfkc's precompiled map (a double-array trie of replacements); empty for identity. */
  readonly charsmap: Uint8Array;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
}

interface RawModel {
  pieces?: { piece?: string; score?: number; type?: number }[];
  trainer_spec?: {
    model_type?: number;
    byte_fallback?: boolean;
    unk_id?: number;
    eos_id?: number;
    pad_id?: number;
  };
  normalizer_spec?: {
    precompiled_charsmap?: Uint8Array;
    add_dummy_prefix?: boolean;
    remove_extra_whitespaces?: boolean;
    escape_whitespaces?: boolean;
  };
}

function invalid(file: string, why: string): TextModelError {
  return new TextModelError('tokenizer_invalid', `${file}: ${why}`);
}

/**
 * Parses the bytes of a `.model` file. Only what T5's tokenizer uses is accepted: a unigram model
 * without byte fallback, escaped whitespace, and unk/eos/pad ids that are pieces of the model.
 */
export function parseSentencePieceModel(bytes: Uint8Array, file = 'spiece.model'): SentencePieceModel {
  if (bytes.byteLength > MAX_SENTENCEPIECE_BYTES) {
    throw invalid(file, `${bytes.byteLength} bytes, more than the ${MAX_SENTENCEPIECE_BYTES}-byte limit`);
  }
  let raw: RawModel;
  try {
    raw = ModelProto.toObject(ModelProto.decode(bytes), { defaults: true }) as RawModel;
  } catch (error) {
    throw invalid(file, `not a SentencePiece model (${(error as Error).message})`);
  }
  const trainer = raw.trainer_spec ?? {};
  const normalizer = raw.normalizer_spec ?? {};
  if (trainer.model_type !== 1) throw invalid(file, `model type ${trainer.model_type} is not unigram (1)`);
  if (trainer.byte_fallback) throw invalid(file, 'byte fallback is not supported (T5 has none)');
  if (normalizer.escape_whitespaces === false) throw invalid(file, 'unescaped whitespace is not supported');
  const pieces = (raw.pieces ?? []).map((p, i) => {
    const type = PIECE_TYPES[p.type ?? 1];
    if (type === undefined || typeof p.piece !== 'string' || p.piece === '') {
      throw invalid(file, `piece ${i} is empty or of unknown type ${p.type}`);
    }
    return { piece: p.piece, score: p.score ?? 0, type };
  });
  const idOf = (what: string, id: number | undefined) => {
    if (id === undefined || !Number.isInteger(id) || id < 0 || id >= pieces.length) {
      throw invalid(file, `${what} id ${id} is not a piece of the ${pieces.length}-piece model`);
    }
    return id;
  };
  return {
    pieces,
    unkId: idOf('unk', trainer.unk_id),
    eosId: idOf('eos', trainer.eos_id),
    padId: idOf('pad', trainer.pad_id),
    charsmap: normalizer.precompiled_charsmap ?? new Uint8Array(),
    addDummyPrefix: normalizer.add_dummy_prefix ?? true,
    removeExtraWhitespaces: normalizer.remove_extra_whitespaces ?? true,
  };
}
