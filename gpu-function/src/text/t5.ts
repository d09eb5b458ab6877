/**
 * The T5 v1.1 encoder (Hugging Face `T5EncoderModel`, as FLUX.1 embeds prompts with it) as a graph:
 * token embedding, `numLayers` blocks of [RMS norm -> self-attention with the shared relative
 * position bias -> residual, RMS norm -> gated-GELU feed-forward -> residual], final RMS norm.
 * No biases anywhere, and no 1/sqrt(d) on the attention scores (T5 folds it into its weights).
 *
 * FLUX.1 runs it without an attention mask (padding tokens are attended to), so the only input is
 * the padded ids. Precision: float32 compute whatever the storage dtype. T5's feed-forward
 * activations exceed float16's range (65504) in the later layers of the XXL model, which is why
 * Hugging Face clamps them in float16; computing in float32 (or bfloat16, which has float32's
 * range) avoids both the overflow and the clamp's departure from the reference.
 */

import { mergeHeads, splitHeads } from '../flux/layers.ts';
import { ParamBinder } from '../flux/param-binder.ts';
import { recordCompute } from '../flux/precision.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { t5EncoderCheckpointKeys } from './checkpoint-keys.ts';
import { type T5Config, validateT5Config } from './config.ts';
import { checkTextGraphOptions, type TextGraphOptions, textNames } from './graph-options.ts';

/**
 * The relative-position bucket of each (query i, key j) pair, row-major [T, T]: half the buckets
 * for keys after the query, half for keys before; within a half, distances below a quarter of the
 * buckets get one bucket each and longer ones share logarithmically wider buckets up to
 * `relativeAttentionMaxDistance`, beyond which they all fall in the last.
 *
 * The log is taken in double here and in float32 by the reference: the two floor to the same
 * bucket because the only distances whose exact value sits on a bucket edge are exact powers of
 * two times the exact range (16, 32, 64 for T5-XXL), where both logs are exact multiples of log 2.
 */
export function t5RelativeBuckets(config: T5Config, tokens: number): Int32Array {
  const half = config.relativeAttentionNumBuckets / 2;
  const exact = half / 2;
  const span = Math.log(config.relativeAttentionMaxDistance / exact);
  const buckets = new Int32Array(tokens * tokens);
  for (let i = 0; i < tokens; i++) {
    for (let j = 0; j < tokens; j++) {
      const relative = j - i;
      const distance = Math.abs(relative);
      const far = exact + Math.trunc((Math.log(distance / exact) / span) * (half - exact));
      buckets[i * tokens + j] =
        (relative > 0 ? half : 0) + (distance < exact ? distance : Math.min(far, half - 1));
    }
  }
  return buckets;
}

/** The position bias [1, H, T, T] every layer adds to its attention scores. */
function positionBias(p: ParamBinder, config: T5Config, tokens: number): Tensor {
  const g = p.graph;
  const table = p.param('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
  const buckets = g.constant(
    BigInt64Array.from(t5RelativeBuckets(config, tokens), (b) => BigInt(b)),
    'int64',
    [tokens, tokens],
  );
  return g.unsqueeze(g.transpose(g.gather(table, buckets, 0), [2, 0, 1]), [0]);
}

function rmsNorm(p: ParamBinder, name: string, x: Tensor, config: T5Config): Tensor {
  return p.graph.rmsNorm(x, p.param(name), config.layerNormEpsilon);
}

function projection(p: ParamBinder, name: string, x: Tensor): Tensor {
  return p.graph.linear(x, p.param(`${name}.weight`));
}

function selfAttention(p: ParamBinder, prefix: string, x: Tensor, bias: Tensor, heads: number): Tensor {
  const g = p.graph;
  const [q, k, v] = ['q', 'k', 'v'].map((w) =>
    splitHeads(g, projection(p, `${prefix}.SelfAttention.${w}`, x), heads),
  ) as [Tensor, Tensor, Tensor];
  const scores = g.add(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), bias);
  const attended = mergeHeads(g, g.matmul(g.softmax(scores, -1), v));
  return projection(p, `${prefix}.SelfAttention.o`, attended);
}

/** wo(gelu_tanh(wi_0 x) * wi_1 x): T5 v1.1's gated-GELU (`gelu_new` is the tanh form). */
function gatedGelu(p: ParamBinder, prefix: string, x: Tensor): Tensor {
  const g = p.graph;
  const gate = g.gelu(projection(p, `${prefix}.DenseReluDense.wi_0`, x), 'tanh');
  return projection(
    p,
    `${prefix}.DenseReluDense.wo`,
    g.mul(gate, projection(p, `${prefix}.DenseReluDense.wi_1`, x)),
  );
}

/** Input `input_ids` int64 [B, T]; output `last_hidden_state` float32 [B, T, dModel]. */
export function buildT5EncoderGraph(config: T5Config, options: TextGraphOptions): Graph {
  validateT5Config(config);
  checkTextGraphOptions(options);
  const g = new Graph(`${config.name}.encoder`);
  recordCompute(g, 'float32');
  const p = new ParamBinder(g, t5EncoderCheckpointKeys(config), options.weights);
  const ids = g.input(textNames.inputIds, 'int64', [options.batch, options.tokens]);
  let x = g.gather(p.param('shared.weight'), ids, 0);
  const bias = positionBias(p, config, options.tokens);
  for (let i = 0; i < config.numLayers; i++) {
    x = g.segment(`encoder.block.${i}`, () => {
      const attn = `encoder.block.${i}.layer.0`;
      const ff = `encoder.block.${i}.layer.1`;
      const normed = rmsNorm(p, `${attn}.layer_norm.weight`, x, config);
      const afterAttention = g.add(x, selfAttention(p, attn, normed, bias, config.numHeads));
      const normedFf = rmsNorm(p, `${ff}.layer_norm.weight`, afterAttention, config);
      return g.add(afterAttention, gatedGelu(p, ff, normedFf));
    });
  }
  g.output(textNames.lastHiddenState, rmsNorm(p, 'encoder.final_layer_norm.weight', x, config));
  return g;
}
