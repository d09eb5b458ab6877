import { describe, expect, it } from 'vitest';
import type { ParamSpec } from '../../src/flux/checkpoint-keys.ts';
import { createSession } from '../../src/graph/session.ts';
import { clipTextCheckpointKeys, t5EncoderCheckpointKeys } from '../../src/text/checkpoint-keys.ts';
import { buildClipTextGraph } from '../../src/text/clip.ts';
import { type ClipTextConfig, clipTextConfigs, type T5Config, t5Configs } from '../../src/text/config.ts';
import { TextModelError } from '../../src/text/errors.ts';
import { textNames } from '../../src/text/graph-options.ts';
import { buildT5EncoderGraph, t5RelativeBuckets } from '../../src/text/t5.ts';
import { maxRelativeError, randomSource } from '../flux/reference-flux.ts';
import { referenceClip, referenceT5, referenceT5Bucket } from './reference-text.ts';

/** Random weights: matrices ~ U(+-1/sqrt(fan in)) x 2, norm weights near 1, biases and tables small. */
function randomWeights(specs: readonly ParamSpec[], seed: number): Map<string, Float32Array> {
  const random = randomSource(seed);
  const weights = new Map<string, Float32Array>();
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const isNorm = /norm[^.]*\.weight$/.test(spec.name);
    const spread = spec.shape.length > 1 ? 2 / Math.sqrt(spec.shape[1]!) : 0.2;
    weights.set(
      spec.name,
      Float32Array.from({ length: size }, () => (isNorm ? 1 : 0) + 2 * spread * random()),
    );
  }
  return weights;
}

const source = (weights: Map<string, Float32Array>) => ({
  source: (spec: ParamSpec) => weights.get(spec.name),
});

/** A T5 config with more positions than exact buckets and distances past the maximum. */
const T5_TEST: T5Config = { ...t5Configs['tiny-t5'], numLayers: 3 };

describe('T5 encoder graph', () => {
  it('matches the plain reference in float32 (max relative error <= 1e-5)', async () => {
    const config = T5_TEST;
    const tokens = 24; // distances up to 23: exact, logarithmic and clamped buckets all occur
    const weights = randomWeights(t5EncoderCheckpointKeys(config), 11);
    const run = await createSession(
      buildT5EncoderGraph(config, { batch: 2, tokens, weights: source(weights) }),
    );
    const random = randomSource(5);
    const sequences = [0, 1].map(() =>
      Array.from({ length: tokens }, () => Math.floor((random() + 0.5) * config.vocabSize)),
    );
    const out = await run({ [textNames.inputIds]: BigInt64Array.from(sequences.flat(), (v) => BigInt(v)) });
    const actual = out[textNames.lastHiddenState]!;
    expect(actual.dims).toEqual([2, tokens, config.dModel]);
    const expected = sequences.flatMap((ids) => referenceT5(config, weights, ids).flat());
    const error = maxRelativeError(actual.data as Float32Array, expected);
    console.log(
      `T5 (${config.numLayers} layers, ${tokens} tokens, batch 2): max relative error ${error.toExponential(2)}`,
    );
    expect(error).toBeLessThanOrEqual(1e-5);
  });

  it('buckets relative positions as the reference does, at T5-XXL edges', () => {
    const xxl = t5Configs['t5-v1_1-xxl'];
    const buckets = t5RelativeBuckets(xxl, 600);
    const at = (query: number, key: number) => buckets[query * 600 + key]!;
    // Keys after the query use buckets 16-31, before it 0-15; 8 exact distances, then log spacing to 128.
    const pinned: [number, number][] = [
      [0, 0],
      [1, 17],
      [-1, 1],
      [7, 23],
      [-7, 7],
      [8, 24],
      [-8, 8],
      [15, 25],
      [-15, 9],
      [16, 26],
      [-16, 10],
      [31, 27],
      [32, 28],
      [-32, 12],
      [63, 29],
      [-63, 13],
      [64, 30],
      [-64, 14],
      [127, 31],
      [128, 31],
      [-128, 15],
      [511, 31],
      [-599, 15],
    ];
    for (const [relative, bucket] of pinned) {
      const query = relative >= 0 ? 0 : -relative;
      expect(at(query, query + relative), `relative ${relative}`).toBe(bucket);
    }
    for (let q = 0; q < 600; q += 37) {
      for (let k = 0; k < 600; k++) expect(at(q, k)).toBe(referenceT5Bucket(xxl, k - q));
    }
  });

  it('refuses token counts beyond the limit, naming the field', () => {
    expect(() => buildT5EncoderGraph(T5_TEST, { batch: 1, tokens: 513 })).toThrow(TextModelError);
    expect(() => buildT5EncoderGraph(T5_TEST, { batch: 1, tokens: 0 })).toThrow(/tokens must be an integer/);
    expect(() =>
      buildT5EncoderGraph({ ...T5_TEST, relativeAttentionNumBuckets: 6 }, { batch: 1, tokens: 4 }),
    ).toThrow(/multiple of 4/);
  });
});

describe('CLIP text graph', () => {
  const config: ClipTextConfig = clipTextConfigs['tiny-clip'];
  const tokens = config.maxPositionEmbeddings;
  const weights = randomWeights(clipTextCheckpointKeys(config), 23);
  const bos = config.eosTokenId - 1;

  /** bos, `words` random ids, eos, then eos padding (CLIP-L pads with its end-of-text token). */
  function prompt(words: number, random: () => number): number[] {
    const body = Array.from({ length: words }, () => Math.floor((random() + 0.5) * (config.vocabSize - 2)));
    return [
      bos,
      ...body,
      config.eosTokenId,
      ...new Array<number>(tokens - words - 2).fill(config.eosTokenId),
    ];
  }

  it('matches the plain reference and pools at the end-of-text token for prompts of several lengths', async () => {
    const lengths = [0, 1, 5, 30, 75];
    const random = randomSource(9);
    const sequences = lengths.map((n) => prompt(n, random));
    const run = await createSession(
      buildClipTextGraph(config, { batch: lengths.length, tokens, weights: source(weights) }),
    );
    const out = await run({ [textNames.inputIds]: BigInt64Array.from(sequences.flat(), (v) => BigInt(v)) });
    const last = out[textNames.lastHiddenState]!.data as Float32Array;
    const pooled = out[textNames.pooled]!.data as Float32Array;
    expect(out[textNames.pooled]!.dims).toEqual([lengths.length, config.hiddenSize]);
    const h = config.hiddenSize;
    const references = sequences.map((ids) => referenceClip(config, weights, ids));
    const lastError = maxRelativeError(
      last,
      references.flatMap((r) => r.last.flat()),
    );
    const pooledError = maxRelativeError(
      pooled,
      references.flatMap((r) => r.pooled),
    );
    console.log(
      `CLIP (${config.numLayers} layers, ${tokens} tokens, prompts of ${lengths.join('/')} words): max relative error last ${lastError.toExponential(2)}, pooled ${pooledError.toExponential(2)}`,
    );
    expect(lastError).toBeLessThanOrEqual(1e-5);
    expect(pooledError).toBeLessThanOrEqual(1e-5);
    references.forEach((reference, b) => {
      // The end-of-text token sits right after the prompt's words, and the pooled row is exactly that row.
      expect(reference.eotPosition).toBe(lengths[b]! + 1);
      const row = last.subarray(
        (b * tokens + reference.eotPosition) * h,
        (b * tokens + reference.eotPosition + 1) * h,
      );
      expect(Array.from(pooled.subarray(b * h, (b + 1) * h))).toEqual(Array.from(row));
      // ...and not the last position, which a pooled-at-the-end bug would take.
      const end = last.subarray((b * tokens + tokens - 1) * h, (b * tokens + tokens) * h);
      if (reference.eotPosition !== tokens - 1)
        expect(Array.from(pooled.subarray(b * h, (b + 1) * h))).not.toEqual(Array.from(end));
    });
  });

  it('is causal: tokens after a position do not change it', async () => {
    const run = await createSession(
      buildClipTextGraph(config, { batch: 2, tokens, weights: source(weights) }),
    );
    const random = randomSource(4);
    const a = prompt(10, random);
    const b = [...a.slice(0, 6), ...prompt(40, random).slice(6)];
    const out = await run({ [textNames.inputIds]: BigInt64Array.from([...a, ...b], (v) => BigInt(v)) });
    const last = out[textNames.lastHiddenState]!.data as Float32Array;
    const h = config.hiddenSize;
    expect(Array.from(last.subarray(0, 6 * h))).toEqual(
      Array.from(last.subarray(tokens * h, (tokens + 6) * h)),
    );
    expect(Array.from(last.subarray(6 * h, 7 * h))).not.toEqual(
      Array.from(last.subarray((tokens + 6) * h, (tokens + 7) * h)),
    );
  });
});
