import { describe, expect, it } from 'vitest';
import {
  autoEncoderConfigs,
  autoEncoderDownscale,
  fluxConfigs,
  headDim,
  mlpHiddenDim,
  validateAutoEncoderConfig,
  validateFluxConfig,
} from '../../src/flux/config.ts';
import { FluxModelError } from '../../src/flux/errors.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof FluxModelError ? `${e.code}: ${e.message}` : 'not a FluxModelError';
  }
  return undefined;
}

describe('FLUX configs', () => {
  it('derive head and MLP widths like the reference', () => {
    expect(headDim(fluxConfigs['flux1-dev'])).toBe(128);
    expect(mlpHiddenDim(fluxConfigs['flux1-dev'])).toBe(12288);
    expect(headDim(fluxConfigs.tiny)).toBe(24);
    expect(mlpHiddenDim(fluxConfigs.tiny)).toBe(192);
  });

  it('all validate', () => {
    for (const config of Object.values(fluxConfigs)) expect(validateFluxConfig(config)).toBe(config);
    for (const config of Object.values(autoEncoderConfigs))
      expect(validateAutoEncoderConfig(config)).toBe(config);
    expect(autoEncoderDownscale(autoEncoderConfigs['flux1-ae'])).toBe(8);
    expect(autoEncoderDownscale(autoEncoderConfigs['tiny-ae'])).toBe(2);
  });

  it('reject broken transformer configs with invalid_config naming the field', () => {
    const tiny = fluxConfigs.tiny;
    expect(codeOf(() => validateFluxConfig({ ...tiny, numHeads: 5 }))).toBe(
      "invalid_config: config 'tiny': hiddenSize 48 must be divisible by numHeads 5",
    );
    expect(codeOf(() => validateFluxConfig({ ...tiny, axesDim: [4, 10, 12] }))).toBe(
      "invalid_config: config 'tiny': axesDim [4,10,12] must be 3 axes summing to the head dimension 24",
    );
    expect(codeOf(() => validateFluxConfig({ ...tiny, axesDim: [5, 9, 10] }))).toBe(
      "invalid_config: config 'tiny': every RoPE axis width must be a positive even integer, got [5,9,10]",
    );
    expect(codeOf(() => validateFluxConfig({ ...tiny, depth: 0 }))).toBe(
      "invalid_config: config 'tiny': depth must be a positive integer, got 0",
    );
    expect(codeOf(() => validateFluxConfig({ ...tiny, inChannels: 18 }))).toBe(
      "invalid_config: config 'tiny': inChannels and hiddenSize must be divisible by 4 (2x2 token packing)",
    );
  });

  it('reject broken autoencoder configs', () => {
    const ae = autoEncoderConfigs['flux1-ae'];
    expect(codeOf(() => validateAutoEncoderConfig({ ...ae, ch: 100 }))).toBe(
      "invalid_config: config 'flux1-ae': channels 100 are not divisible by normGroups 32",
    );
    expect(codeOf(() => validateAutoEncoderConfig({ ...ae, chMult: [] }))).toBe(
      "invalid_config: config 'flux1-ae': chMult must be a non-empty list of positive integers, got []",
    );
  });
});
