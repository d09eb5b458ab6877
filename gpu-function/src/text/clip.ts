/**
 * CLIP's text transformer (Hugging Face `CLIPTextModel`, as FLUX.1 takes its pooled vector) as a
 * graph: token + position embeddings, `numLayers` pre-norm blocks of [LayerNorm -> causal
 * self-attention -> residual, LayerNorm -> fc1 -> quick GELU -> fc2 -> residual], final LayerNorm.
 * `pooler_output` is the final-normed hidden state at the first end-of-text token of each row.
 *
 * The reference picks that position with argmax over the ids (its checkpoints' legacy config) or
 * over `ids == eos`; both are the first end-of-text token because it is the largest id of CLIP's
 * vocabulary. The graph uses the second form, which holds for any vocabulary. FLUX.1 passes no
 * attention mask: padding is masked by causality alone (it comes after the end-of-text token).
 */

import { mergeHeads, splitHeads } from '../flux/layers.ts';
import { ParamBinder } from '../flux/param-binder.ts';
import { recordCompute } from '../flux/precision.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { clipTextCheckpointKeys } from './checkpoint-keys.ts';
import { type ClipTextConfig, validateClipTextConfig } from './config.ts';
import { checkTextGraphOptions, type TextGraphOptions, textNames } from './graph-options.ts';

/** The additive causal mask: the most negative float32 above the diagonal, as the reference fills it. */
const MASKED = -3.4028234663852886e38;

function layerNorm(p: ParamBinder, prefix: string, x: Tensor, config: ClipTextConfig): Tensor {
  return p.graph.layerNorm(x, p.param(`${prefix}.weight`), p.param(`${prefix}.bias`), {
    epsilon: config.layerNormEpsilon,
  });
}

function linear(p: ParamBinder, prefix: string, x: Tensor): Tensor {
  return p.graph.linear(x, p.param(`${prefix}.weight`), p.param(`${prefix}.bias`));
}

function causalMask(g: Graph, tokens: number): Tensor {
  const mask = new Float32Array(tokens * tokens);
  for (let i = 0; i < tokens; i++) for (let j = i + 1; j < tokens; j++) mask[i * tokens + j] = MASKED;
  return g.constant(mask, 'float32', [1, 1, tokens, tokens]);
}

function selfAttention(
  p: ParamBinder,
  prefix: string,
  x: Tensor,
  mask: Tensor,
  config: ClipTextConfig,
): Tensor {
  const g = p.graph;
  const heads = config.numHeads;
  const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((w) =>
    splitHeads(g, linear(p, `${prefix}.${w}`, x), heads),
  ) as [Tensor, Tensor, Tensor];
  const scale = 1 / Math.sqrt(config.hiddenSize / heads);
  const scores = g.add(g.mul(g.matmul(q, g.transpose(k, [0, 1, 3, 2])), scale), mask);
  return linear(p, `${prefix}.out_proj`, mergeHeads(g, g.matmul(g.softmax(scores, -1), v)));
}

/** x * sigmoid(1.702 x): the activation CLIP was trained with. */
function quickGelu(g: Graph, x: Tensor): Tensor {
  return g.mul(x, g.sigmoid(g.mul(x, 1.702)));
}

/** Rows of `hidden` [B, T, W] at `positions` [B] (int64), as [B, W]: a one-hot product, exact in float. */
function rowsAt(g: Graph, hidden: Tensor, positions: Tensor): Tensor {
  const [b, t, w] = hidden.shape as [number, number, number];
  const range = g.constant(
    BigInt64Array.from({ length: t }, (_, i) => BigInt(i)),
    'int64',
    [1, t],
  );
  const oneHot = g.cast(g.equal(g.unsqueeze(positions, [1]), range), 'float32');
  return g.reshape(g.matmul(g.unsqueeze(oneHot, [1]), hidden), [b, w]);
}

/**
 * Input `input_ids` int64 [B, T] (T <= maxPositionEmbeddings); outputs `last_hidden_state`
 * float32 [B, T, hidden] and `pooler_output` float32 [B, hidden].
 */
export function buildClipTextGraph(config: ClipTextConfig, options: TextGraphOptions): Graph {
  validateClipTextConfig(config);
  checkTextGraphOptions(options, config.maxPositionEmbeddings);
  const g = new Graph(`${config.name}.text`);
  recordCompute(g, 'float32');
  const p = new ParamBinder(g, clipTextCheckpointKeys(config), options.weights);
  const { tokens } = options;
  const ids = g.input(textNames.inputIds, 'int64', [options.batch, tokens]);
  const positions = g.slice(p.param('text_model.embeddings.position_embedding.weight'), [0], [tokens], [0]);
  let x = g.add(g.gather(p.param('text_model.embeddings.token_embedding.weight'), ids, 0), positions);
  const mask = causalMask(g, tokens);
  for (let i = 0; i < config.numLayers; i++) {
    const layer = `text_model.encoder.layers.${i}`;
    x = g.segment(layer, () => {
      const attended = g.add(
        x,
        selfAttention(p, `${layer}.self_attn`, layerNorm(p, `${layer}.layer_norm1`, x, config), mask, config),
      );
      const normed = layerNorm(p, `${layer}.layer_norm2`, attended, config);
      const mlp = linear(p, `${layer}.mlp.fc2`, quickGelu(g, linear(p, `${layer}.mlp.fc1`, normed)));
      return g.add(attended, mlp);
    });
  }
  const last = layerNorm(p, 'text_model.final_layer_norm', x, config);
  g.output(textNames.lastHiddenState, last);
  const endOfText = g.argMax(g.cast(g.equal(ids, g.scalar(config.eosTokenId, 'int64')), 'float32'), 1, false);
  g.output(textNames.pooled, rowsAt(g, last, endOfText));
  return g;
}
