import { describe, expect, it } from 'vitest';
import { assertCheckpoint, checkCheckpoint } from '../../src/flux/checkpoint-check.ts';
import { type ParamSpec, parameterCount } from '../../src/flux/checkpoint-keys.ts';
import { clipTextCheckpointKeys, t5EncoderCheckpointKeys } from '../../src/text/checkpoint-keys.ts';
import { clipTextConfigs, t5Configs } from '../../src/text/config.ts';

function shapes(specs: ParamSpec[]): Map<string, readonly number[]> {
  return new Map(specs.map((s) => [s.name, s.shape]));
}

describe('T5-XXL encoder keys (FLUX.1 text_encoder_2/)', () => {
  const specs = t5EncoderCheckpointKeys(t5Configs['t5-v1_1-xxl']);
  const byName = shapes(specs);

  it('has 219 tensors and 4,762,310,656 parameters: the index total_size 9,524,621,312 / 2 bytes (bf16)', () => {
    console.log(
      `T5-XXL encoder: ${specs.length} tensors, ${parameterCount(specs).toLocaleString('en')} parameters`,
    );
    expect(specs.length).toBe(219);
    expect(byName.size).toBe(219);
    expect(parameterCount(specs)).toBe(4_762_310_656);
    expect(parameterCount(specs) * 2).toBe(9_524_621_312);
  });

  it('gives the shapes of the published checkpoint', () => {
    const published: [string, number[]][] = [
      ['shared.weight', [32128, 4096]],
      ['encoder.block.0.layer.0.SelfAttention.q.weight', [4096, 4096]],
      ['encoder.block.0.layer.0.SelfAttention.o.weight', [4096, 4096]],
      ['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [32, 64]],
      ['encoder.block.0.layer.0.layer_norm.weight', [4096]],
      ['encoder.block.0.layer.1.DenseReluDense.wi_0.weight', [10240, 4096]],
      ['encoder.block.0.layer.1.DenseReluDense.wi_1.weight', [10240, 4096]],
      ['encoder.block.23.layer.1.DenseReluDense.wo.weight', [4096, 10240]],
      ['encoder.block.23.layer.1.layer_norm.weight', [4096]],
      ['encoder.final_layer_norm.weight', [4096]],
    ];
    for (const [name, shape] of published) expect(byName.get(name), name).toEqual(shape);
    // Only block 0 holds the relative position table; no biases; the tied embedding is stored once.
    expect(byName.has('encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight')).toBe(false);
    expect([...byName.keys()].filter((n) => n.endsWith('.bias'))).toEqual([]);
    expect(byName.has('encoder.embed_tokens.weight')).toBe(false);
    expect(byName.has('encoder.block.24.layer.0.layer_norm.weight')).toBe(false);
  });
});

describe('CLIP-L text keys (FLUX.1 text_encoder/)', () => {
  const specs = clipTextCheckpointKeys(clipTextConfigs['clip-vit-large-patch14']);
  const byName = shapes(specs);

  it('has 196 tensors and 123,060,480 parameters', () => {
    console.log(
      `CLIP-L text model: ${specs.length} tensors, ${parameterCount(specs).toLocaleString('en')} parameters`,
    );
    expect(specs.length).toBe(196);
    expect(parameterCount(specs)).toBe(123_060_480);
  });

  it('gives the shapes of the published checkpoint', () => {
    const published: [string, number[]][] = [
      ['text_model.embeddings.token_embedding.weight', [49408, 768]],
      ['text_model.embeddings.position_embedding.weight', [77, 768]],
      ['text_model.encoder.layers.0.self_attn.q_proj.weight', [768, 768]],
      ['text_model.encoder.layers.0.self_attn.q_proj.bias', [768]],
      ['text_model.encoder.layers.0.layer_norm1.weight', [768]],
      ['text_model.encoder.layers.11.mlp.fc1.weight', [3072, 768]],
      ['text_model.encoder.layers.11.mlp.fc2.weight', [768, 3072]],
      ['text_model.encoder.layers.11.layer_norm2.bias', [768]],
      ['text_model.final_layer_norm.weight', [768]],
    ];
    for (const [name, shape] of published) expect(byName.get(name), name).toEqual(shape);
    expect(byName.has('text_projection.weight')).toBe(false);
    expect(byName.has('text_model.encoder.layers.12.mlp.fc1.weight')).toBe(false);
  });

  it('names missing, extra and wrong-shaped tensors of a header', () => {
    const header = specs
      .filter((s) => s.name !== 'text_model.final_layer_norm.bias')
      .map(
        (s) =>
          [s.name, { dtype: 'BF16', shape: s.name.endsWith('fc1.weight') ? [768, 3072] : s.shape }] as const,
      );
    const report = checkCheckpoint(
      [...header, ['text_projection.weight', { dtype: 'BF16', shape: [768, 768] }]],
      specs,
    );
    expect(report.missing).toEqual(['text_model.final_layer_norm.bias']);
    expect(report.extra).toEqual(['text_projection.weight']);
    expect(report.wrongShape.map((m) => m.name)).toHaveLength(12);
    expect(() => assertCheckpoint('text_encoder/model.safetensors', header, specs)).toThrow(
      /missing \(1\): text_model.final_layer_norm.bias[\s\S]*wrong shape \(12\): text_model.encoder.layers.0.mlp.fc1.weight \[768,3072\] \(expected \[3072,768\]\)/,
    );
  });
});
