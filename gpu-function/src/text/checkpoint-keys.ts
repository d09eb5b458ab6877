/**
 * Every tensor name and torch-layout shape of the text encoders as the FLUX.1 repository stores
 * them (`text_encoder/` CLIPTextModel, `text_encoder_2/` T5EncoderModel, Hugging Face state-dict
 * names), derived from a config by walking the module tree. Linear weights are [out, in].
 */
import type { ParamSpec } from '../flux/checkpoint-keys.ts';
import { type ClipTextConfig, type T5Config, validateClipTextConfig, validateT5Config } from './config.ts';

function linear(prefix: string, inDim: number, outDim: number, bias: boolean): ParamSpec[] {
  const weight = { name: `${prefix}.weight`, shape: [outDim, inDim] };
  return bias ? [weight, { name: `${prefix}.bias`, shape: [outDim] }] : [weight];
}

/** The inner attention width of T5: heads x dKv. */
export function t5InnerDim(config: T5Config): number {
  return config.numHeads * config.dKv;
}

/**
 * T5EncoderModel: `shared` is the token embedding (the encoder's `embed_tokens` is tied to it and
 * not stored); block 0 alone holds the relative attention bias, which every layer reuses.
 */
export function t5EncoderCheckpointKeys(config: T5Config): ParamSpec[] {
  validateT5Config(config);
  const d = config.dModel;
  const inner = t5InnerDim(config);
  const specs: ParamSpec[] = [{ name: 'shared.weight', shape: [config.vocabSize, d] }];
  for (let i = 0; i < config.numLayers; i++) {
    const attn = `encoder.block.${i}.layer.0`;
    specs.push(
      ...linear(`${attn}.SelfAttention.q`, d, inner, false),
      ...linear(`${attn}.SelfAttention.k`, d, inner, false),
      ...linear(`${attn}.SelfAttention.v`, d, inner, false),
      ...linear(`${attn}.SelfAttention.o`, inner, d, false),
    );
    if (i === 0) {
      specs.push({
        name: `${attn}.SelfAttention.relative_attention_bias.weight`,
        shape: [config.relativeAttentionNumBuckets, config.numHeads],
      });
    }
    specs.push({ name: `${attn}.layer_norm.weight`, shape: [d] });
    const ff = `encoder.block.${i}.layer.1`;
    specs.push(
      ...linear(`${ff}.DenseReluDense.wi_0`, d, config.dFf, false),
      ...linear(`${ff}.DenseReluDense.wi_1`, d, config.dFf, false),
      ...linear(`${ff}.DenseReluDense.wo`, config.dFf, d, false),
      { name: `${ff}.layer_norm.weight`, shape: [d] },
    );
  }
  specs.push({ name: 'encoder.final_layer_norm.weight', shape: [d] });
  return specs;
}

function layerNorm(prefix: string, width: number): ParamSpec[] {
  return [
    { name: `${prefix}.weight`, shape: [width] },
    { name: `${prefix}.bias`, shape: [width] },
  ];
}

/** CLIPTextModel (no projection head: FLUX takes `pooler_output`, the final-normed end-of-text token). */
export function clipTextCheckpointKeys(config: ClipTextConfig): ParamSpec[] {
  validateClipTextConfig(config);
  const h = config.hiddenSize;
  const specs: ParamSpec[] = [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [config.vocabSize, h] },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [config.maxPositionEmbeddings, h] },
  ];
  for (let i = 0; i < config.numLayers; i++) {
    const layer = `text_model.encoder.layers.${i}`;
    specs.push(
      ...linear(`${layer}.self_attn.k_proj`, h, h, true),
      ...linear(`${layer}.self_attn.v_proj`, h, h, true),
      ...linear(`${layer}.self_attn.q_proj`, h, h, true),
      ...linear(`${layer}.self_attn.out_proj`, h, h, true),
      ...layerNorm(`${layer}.layer_norm1`, h),
      ...linear(`${layer}.mlp.fc1`, h, config.intermediateSize, true),
      ...linear(`${layer}.mlp.fc2`, config.intermediateSize, h, true),
      ...layerNorm(`${layer}.layer_norm2`, h),
    );
  }
  specs.push(...layerNorm('text_model.final_layer_norm', h));
  return specs;
}

/**
 * Buffers some CLIP checkpoints store next to the weights (older transformers saved the position
 * ids `[1, max positions]` as int64): accepted when present, never read; the graph computes them.
 */
export const CLIP_OPTIONAL_BUFFERS: readonly string[] = ['text_model.embeddings.position_ids'];
