import { describe, expect, it } from 'vitest';
import {
  assertCheckpoint,
  checkCheckpoint,
  type HeaderTensor,
  isCleanReport,
  MAX_NAMES_IN_MESSAGE,
} from '../../src/flux/checkpoint-check.ts';
import { autoEncoderCheckpointKeys, fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, fluxConfigs } from '../../src/flux/config.ts';
import { FluxModelError } from '../../src/flux/errors.ts';

const dev = fluxCheckpointKeys(fluxConfigs['flux1-dev']);
const ae = autoEncoderCheckpointKeys(autoEncoderConfigs['flux1-ae']);

/** Shaped like weights/ `SafetensorsHeader.tensors`: name -> { dtype, shape, ... }. */
function headerOf(specs: typeof dev, dtype: string, prefix = ''): Map<string, HeaderTensor> {
  return new Map(specs.map((s) => [prefix + s.name, { dtype, shape: [...s.shape] }]));
}

describe('checkCheckpoint', () => {
  it('accepts the full flux1-dev (BF16) and ae (F32) layouts, ignoring __metadata__', () => {
    // A raw header object, as JSON.parse gives it.
    const header = Object.entries({
      __metadata__: { format: 'pt' },
      ...Object.fromEntries(headerOf(dev, 'BF16')),
    });
    expect(isCleanReport(checkCheckpoint(header, dev))).toBe(true);
    expect(isCleanReport(checkCheckpoint(headerOf(ae, 'F32'), ae))).toBe(true);
    expect(() => assertCheckpoint('flux1-dev.safetensors', header, dev)).not.toThrow();
  });

  it('names missing, extra, wrong-shaped and wrong-dtype tensors', () => {
    const header = headerOf(dev, 'BF16');
    header.delete('double_blocks.7.img_attn.norm.key_norm.scale');
    header.delete('guidance_in.in_layer.bias');
    header.set('double_blocks.19.img_mod.lin.weight', { dtype: 'BF16', shape: [18432, 3072] });
    header.set('single_blocks.3.linear2.weight', { dtype: 'BF16', shape: [3072, 15361] });
    header.set('final_layer.linear.bias', { dtype: 'BF16', shape: [64, 1] });
    header.set('img_in.weight', { dtype: 'I8', shape: [3072, 64] });
    const report = checkCheckpoint(header, dev);
    expect(report.missing).toEqual([
      'double_blocks.7.img_attn.norm.key_norm.scale',
      'guidance_in.in_layer.bias',
    ]);
    expect(report.extra).toEqual(['double_blocks.19.img_mod.lin.weight']);
    expect(report.wrongShape).toEqual([
      { name: 'final_layer.linear.bias', expected: [64], actual: [64, 1] },
      { name: 'single_blocks.3.linear2.weight', expected: [3072, 15360], actual: [3072, 15361] },
    ]);
    expect(report.wrongDtype).toEqual([{ name: 'img_in.weight', dtype: 'I8' }]);
  });

  it('reports a schnell file checked as dev as missing exactly the guidance embedder', () => {
    const schnell = headerOf(fluxCheckpointKeys(fluxConfigs['flux1-schnell']), 'BF16');
    const report = checkCheckpoint(schnell, dev);
    expect(report.missing).toEqual([
      'guidance_in.in_layer.bias',
      'guidance_in.in_layer.weight',
      'guidance_in.out_layer.bias',
      'guidance_in.out_layer.weight',
    ]);
    expect(report.extra).toEqual([]);
  });

  it('strips a bundle prefix and reports keys outside it as extra', () => {
    const header = headerOf(dev, 'BF16', 'model.diffusion_model.');
    header.set('text_encoders.clip_l.weight', { dtype: 'F16', shape: [1] });
    const report = checkCheckpoint(header, dev, { prefix: 'model.diffusion_model.' });
    expect(report.missing).toEqual([]);
    expect(report.extra).toEqual(['text_encoders.clip_l.weight']);
    expect(checkCheckpoint(header, dev).missing.length).toBe(780);
  });
});

describe('assertCheckpoint', () => {
  it('throws checkpoint_mismatch naming each problem', () => {
    const header = headerOf(ae, 'F32');
    header.set('decoder.up.0.upsample.conv.weight', { dtype: 'F32', shape: [128, 128, 3, 3] });
    header.set('encoder.mid.attn_1.q.weight', { dtype: 'F32', shape: [512, 512] });
    header.delete('decoder.norm_out.bias');
    let error: unknown;
    try {
      assertCheckpoint('ae.safetensors', header, ae);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FluxModelError);
    expect((error as FluxModelError).code).toBe('checkpoint_mismatch');
    expect((error as FluxModelError).message).toBe(
      [
        'ae.safetensors does not match the model:',
        'missing (1): decoder.norm_out.bias',
        'unexpected (1): decoder.up.0.upsample.conv.weight',
        'wrong shape (1): encoder.mid.attn_1.q.weight [512,512] (expected [512,512,1,1])',
      ].join('\n'),
    );
  });

  it(`lists at most ${MAX_NAMES_IN_MESSAGE} names per category and counts the rest`, () => {
    const first = dev
      .map((s) => s.name)
      .sort()
      .slice(0, MAX_NAMES_IN_MESSAGE);
    expect(() => assertCheckpoint('empty.safetensors', new Map(), dev)).toThrow(
      `empty.safetensors does not match the model:\nmissing (780): ${first.join(', ')}, and 760 more`,
    );
  });
});
