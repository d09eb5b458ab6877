import { describe, expect, it } from 'vitest';
import {
  autoEncoderCheckpointKeys,
  fluxCheckpointKeys,
  type ParamSpec,
  parameterCount,
} from '../../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, fluxConfigs } from '../../src/flux/config.ts';

function shapes(specs: ParamSpec[]): Map<string, readonly number[]> {
  return new Map(specs.map((s) => [s.name, s.shape]));
}

describe('flux1-dev transformer keys', () => {
  const specs = fluxCheckpointKeys(fluxConfigs['flux1-dev']);
  const byName = shapes(specs);

  it('has the 780 tensors and 11,901,408,320 parameters of flux1-dev.safetensors', () => {
    expect(specs.length).toBe(780);
    expect(byName.size).toBe(780);
    expect(parameterCount(specs)).toBe(11_901_408_320);
  });

  it('gives the shapes a published checkpoint header shows', () => {
    const published: [string, number[]][] = [
      ['img_in.weight', [3072, 64]],
      ['txt_in.weight', [3072, 4096]],
      ['time_in.in_layer.weight', [3072, 256]],
      ['vector_in.in_layer.weight', [3072, 768]],
      ['guidance_in.out_layer.weight', [3072, 3072]],
      ['double_blocks.0.img_mod.lin.weight', [18432, 3072]],
      ['double_blocks.0.img_attn.qkv.weight', [9216, 3072]],
      ['double_blocks.0.img_attn.qkv.bias', [9216]],
      ['double_blocks.0.img_attn.norm.key_norm.scale', [128]],
      ['double_blocks.18.txt_attn.norm.query_norm.scale', [128]],
      ['double_blocks.18.txt_mlp.0.weight', [12288, 3072]],
      ['double_blocks.18.txt_mlp.2.weight', [3072, 12288]],
      ['single_blocks.0.linear1.weight', [21504, 3072]],
      ['single_blocks.37.linear2.weight', [3072, 15360]],
      ['single_blocks.37.modulation.lin.weight', [9216, 3072]],
      ['single_blocks.37.norm.query_norm.scale', [128]],
      ['final_layer.linear.weight', [64, 3072]],
      ['final_layer.adaLN_modulation.1.weight', [6144, 3072]],
      ['final_layer.adaLN_modulation.1.bias', [6144]],
    ];
    for (const [name, shape] of published) expect(byName.get(name), name).toEqual(shape);
    expect(byName.has('double_blocks.19.img_mod.lin.weight')).toBe(false);
    expect(byName.has('single_blocks.38.linear1.weight')).toBe(false);
  });

  it('has 24 tensors per double block (12 per stream) and 8 per single block', () => {
    expect(specs.filter((s) => s.name.startsWith('double_blocks.5.')).length).toBe(24);
    expect(specs.filter((s) => s.name.startsWith('single_blocks.5.')).length).toBe(8);
  });

  it('drops exactly the guidance embedder for schnell', () => {
    const schnell = fluxCheckpointKeys(fluxConfigs['flux1-schnell']);
    const dropped = specs.filter((s) => !schnell.some((t) => t.name === s.name)).map((s) => s.name);
    expect(dropped).toEqual([
      'guidance_in.in_layer.weight',
      'guidance_in.in_layer.bias',
      'guidance_in.out_layer.weight',
      'guidance_in.out_layer.bias',
    ]);
    expect(parameterCount(schnell)).toBe(11_891_178_560);
  });

  it('derives the tiny config from the same walk', () => {
    const tiny = fluxCheckpointKeys(fluxConfigs.tiny);
    // embedders 16, two double blocks 2 x 24, two single blocks 2 x 8, final layer 4
    expect(tiny.length).toBe(16 + 48 + 16 + 4);
    expect(shapes(tiny).get('single_blocks.1.linear1.weight')).toEqual([3 * 48 + 192, 48]);
    expect(shapes(tiny).get('double_blocks.1.img_attn.norm.key_norm.scale')).toEqual([24]);
  });
});

describe('ae.safetensors keys', () => {
  const specs = autoEncoderCheckpointKeys(autoEncoderConfigs['flux1-ae']);
  const byName = shapes(specs);

  it('has 244 tensors and 83,819,683 parameters', () => {
    expect(specs.length).toBe(244);
    expect(byName.size).toBe(244);
    expect(parameterCount(specs)).toBe(83_819_683);
  });

  it('stores the mid-block attention as 1x1 convolutions and norms as weight/bias', () => {
    for (const part of ['encoder', 'decoder']) {
      for (const proj of ['q', 'k', 'v', 'proj_out']) {
        expect(byName.get(`${part}.mid.attn_1.${proj}.weight`)).toEqual([512, 512, 1, 1]);
        expect(byName.get(`${part}.mid.attn_1.${proj}.bias`)).toEqual([512]);
      }
      expect(byName.get(`${part}.mid.attn_1.norm.weight`)).toEqual([512]);
      expect(byName.get(`${part}.mid.attn_1.norm.bias`)).toEqual([512]);
    }
  });

  it('follows the level structure of the encoder and decoder', () => {
    expect(byName.get('encoder.conv_in.weight')).toEqual([128, 3, 3, 3]);
    expect(byName.get('encoder.down.1.block.0.nin_shortcut.weight')).toEqual([256, 128, 1, 1]);
    expect(byName.has('encoder.down.0.block.0.nin_shortcut.weight')).toBe(false);
    expect(byName.get('encoder.down.1.downsample.conv.weight')).toEqual([256, 256, 3, 3]);
    expect(byName.get('encoder.down.2.downsample.conv.weight')).toEqual([512, 512, 3, 3]);
    expect(byName.has('encoder.down.3.downsample.conv.weight')).toBe(false);
    expect(byName.get('encoder.conv_out.weight')).toEqual([32, 512, 3, 3]);
    expect(byName.get('decoder.conv_in.weight')).toEqual([512, 16, 3, 3]);
    expect(byName.get('decoder.up.3.block.2.conv2.weight')).toEqual([512, 512, 3, 3]);
    expect(byName.get('decoder.up.1.block.0.nin_shortcut.weight')).toEqual([256, 512, 1, 1]);
    expect(byName.get('decoder.up.0.block.0.nin_shortcut.weight')).toEqual([128, 256, 1, 1]);
    expect(byName.get('decoder.up.1.upsample.conv.weight')).toEqual([256, 256, 3, 3]);
    expect(byName.has('decoder.up.0.upsample.conv.weight')).toBe(false);
    expect(byName.get('decoder.conv_out.weight')).toEqual([3, 128, 3, 3]);
    expect(byName.has('encoder.quant_conv.weight')).toBe(false);
  });
});
