/**
 * The prompt encoders a bundle may carry: T5 (FLUX's `txt`) and CLIP (FLUX's `y`) graphs on their
 * own weight files, the tokenizer files copied as they are, and the manifest entry with each
 * encoder's licence (T5 v1.1: Apache-2.0; CLIP: MIT; both differ from FLUX.1-dev's).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildClipTextGraph } from '../text/clip.ts';
import type { ClipTextConfig, T5Config } from '../text/config.ts';
import { TextModelError } from '../text/errors.ts';
import { buildT5EncoderGraph } from '../text/t5.ts';
import {
  loadPromptTokenizers,
  OPTIONAL_TOKENIZER_FILES,
  REQUIRED_TOKENIZER_FILES,
} from '../text/tokenizer-files.ts';
import type { CheckpointSource } from './checkpoint-source.ts';
import { BundleError } from './errors.ts';
import type { TextEncodersEntry } from './model-config.ts';
import type { BundlePlan, GraphPlan } from './write.ts';

export const TEXT_ENCODER_GRAPHS = { t5: 't5_encoder', clip: 'clip_text' } as const;
export const TEXT_ENCODER_WEIGHT_FILES = { t5: 't5.weights', clip: 'clip.weights' } as const;

/** The released encoders' licences (google/t5-v1_1-xxl, openai/clip-vit-large-patch14). */
export const TEXT_ENCODER_LICENCES = {
  t5: { id: 'Apache-2.0', commercial_use: true, url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  clip: { id: 'MIT', commercial_use: true, url: 'https://github.com/openai/CLIP/blob/main/LICENSE' },
} as const satisfies Record<'t5' | 'clip', TextEncodersEntry['t5']['licence']>;

/** CLIP's padded length in FLUX.1 (its position count). */
export const CLIP_MAX_TOKENS = 77;

export interface TextEncoderSpec {
  readonly t5: T5Config;
  readonly clip: ClipTextConfig;
  /** T5's padded length: the transformer's text tokens (FLUX.1-dev 512, schnell 256). */
  readonly t5Tokens: number;
  /** Folder holding tokenizer/ and tokenizer_2/ (the FLUX.1 repository layout). */
  readonly tokenizerRoot: string;
  readonly licences: { t5: TextEncodersEntry['t5']['licence']; clip: TextEncodersEntry['clip']['licence'] };
}

export interface TextEncoderSources {
  readonly t5: CheckpointSource;
  readonly clip: CheckpointSource;
}

/** Refuses tokenizer files that do not fit the encoders: ids past the embedding, another end-of-text id. */
async function checkTokenizers(spec: TextEncoderSpec): Promise<string[]> {
  let tokenizers: Awaited<ReturnType<typeof loadPromptTokenizers>>;
  try {
    tokenizers = await loadPromptTokenizers(spec.tokenizerRoot, { t5: spec.t5Tokens, clip: CLIP_MAX_TOKENS });
  } catch (error) {
    if (error instanceof TextModelError)
      throw BundleError.of('bundle_source_invalid', 'tokenizer', error.message);
    throw error;
  }
  const problems: string[] = [];
  if (tokenizers.t5.vocabularySize > spec.t5.vocabSize) {
    problems.push(
      `T5 tokenizer has ${tokenizers.t5.vocabularySize} pieces; the encoder embeds ${spec.t5.vocabSize}`,
    );
  }
  if (tokenizers.clip.vocabularySize > spec.clip.vocabSize) {
    problems.push(
      `CLIP tokenizer has ${tokenizers.clip.vocabularySize} tokens; the encoder embeds ${spec.clip.vocabSize}`,
    );
  }
  if (tokenizers.clip.eosId !== spec.clip.eosTokenId) {
    problems.push(
      `CLIP tokenizer's end-of-text id is ${tokenizers.clip.eosId}; the encoder pools at ${spec.clip.eosTokenId}`,
    );
  }
  if (problems.length > 0) throw BundleError.of('bundle_source_invalid', 'tokenizer', problems.join('; '));
  const optional: string[] = [];
  for (const file of OPTIONAL_TOKENIZER_FILES) {
    if ((await stat(join(spec.tokenizerRoot, file)).catch(() => null))?.isFile()) optional.push(file);
  }
  return [...REQUIRED_TOKENIZER_FILES.clip, ...REQUIRED_TOKENIZER_FILES.t5, ...optional];
}

/** What the encoders add to a bundle plan: weight files, graphs, copied tokenizer files, manifest entry. */
export async function textEncoderPlan(
  spec: TextEncoderSpec,
  sources: TextEncoderSources,
): Promise<Required<Pick<BundlePlan, 'textEncoders' | 'copies'>> & Pick<BundlePlan, 'weights' | 'graphs'>> {
  const tokenizerFiles = await checkTokenizers(spec);
  const graphs: GraphPlan[] = [
    {
      name: TEXT_ENCODER_GRAPHS.t5,
      build: (lookup, stored) =>
        buildT5EncoderGraph(spec.t5, {
          batch: 1,
          tokens: spec.t5Tokens,
          weights: { source: (p) => lookup(p.name), stored },
        }),
    },
    {
      name: TEXT_ENCODER_GRAPHS.clip,
      build: (lookup, stored) =>
        buildClipTextGraph(spec.clip, {
          batch: 1,
          tokens: CLIP_MAX_TOKENS,
          weights: { source: (p) => lookup(p.name), stored },
        }),
    },
  ];
  return {
    weights: [
      { file: TEXT_ENCODER_WEIGHT_FILES.t5, source: sources.t5 },
      { file: TEXT_ENCODER_WEIGHT_FILES.clip, source: sources.clip },
    ],
    graphs,
    copies: tokenizerFiles.map((path) => ({ path, from: join(spec.tokenizerRoot, path) })),
    textEncoders: {
      t5: {
        config: { ...spec.t5 },
        max_tokens: spec.t5Tokens,
        graph: TEXT_ENCODER_GRAPHS.t5,
        licence: spec.licences.t5,
      },
      clip: {
        config: { ...spec.clip },
        max_tokens: CLIP_MAX_TOKENS,
        graph: TEXT_ENCODER_GRAPHS.clip,
        licence: spec.licences.clip,
      },
      tokenizer_files: tokenizerFiles,
    },
  };
}
