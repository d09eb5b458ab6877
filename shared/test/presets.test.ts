import { describe, expect, it } from 'vitest';
import { featureDownscale, METHOD, PRESETS, resolveSettings } from '../src/presets.ts';

describe('presets', () => {
  it('paper preset holds the paper hyperparameters', () => {
    expect(PRESETS.paper).toEqual({
      seed: 0,
      steps: 25,
      skip_steps: 6,
      transport_iterations: 50,
      intensify_iterations: 20,
      transport_lr: 1000,
      intensify_lr: 1200,
      inversion_guidance: 1,
      edit_guidance: 3.5,
      adapter: true,
      adapter_scale: 1.5,
      feature_blocks: [17, 18],
      kv_double_blocks: [0, 7, 8, 9, 10, 18],
      kv_single_blocks: [6, 9, 18, 23, 26, 31, 37],
      kv_pairing: 'reference_code',
      background_latent: 'reconstruction',
      background_compositing: true,
      output_format: 'png',
      output_quality: 95,
      preview_interval: 0,
      output_metrics: false,
      grow_editable_mask: false,
    });
  });

  it('fast differs from paper only in schedule length and iteration counts', () => {
    const differences = Object.keys(PRESETS.paper).filter(
      (key) =>
        JSON.stringify(PRESETS.paper[key as keyof typeof PRESETS.paper]) !==
        JSON.stringify(PRESETS.fast[key as keyof typeof PRESETS.paper]),
    );
    expect(differences).toEqual(['steps', 'skip_steps', 'transport_iterations', 'intensify_iterations']);
    const { steps, skip_steps, transport_iterations, intensify_iterations } = PRESETS.fast;
    expect([steps, skip_steps, transport_iterations, intensify_iterations]).toEqual([12, 3, 16, 6]);
  });

  it('reference_code differs from paper only where the code does', () => {
    const differences = Object.keys(PRESETS.paper).filter(
      (key) =>
        JSON.stringify(PRESETS.paper[key as keyof typeof PRESETS.paper]) !==
        JSON.stringify(PRESETS.reference_code[key as keyof typeof PRESETS.paper]),
    );
    expect(differences).toEqual(['intensify_lr', 'background_latent']);
    expect(PRESETS.reference_code.intensify_lr).toBe(1000);
    expect(PRESETS.reference_code.background_latent).toBe('half_step');
    // The paper names no pairing; both presets take the code's, same_time stays an option.
    expect([PRESETS.paper.kv_pairing, PRESETS.reference_code.kv_pairing]).toEqual([
      'reference_code',
      'reference_code',
    ]);
    expect(resolveSettings({ kv_pairing: 'same_time' }).kv_pairing).toBe('same_time');
  });

  it('resolves options over a preset', () => {
    const settings = resolveSettings({ preset: 'reference_code', steps: 30, adapter: false });
    expect([settings.steps, settings.skip_steps, settings.adapter, settings.intensify_lr]).toEqual([
      30,
      6,
      false,
      1000,
    ]);
    expect(resolveSettings()).toEqual(PRESETS.paper);
  });

  it('picks the feature resize divisor by mean side', () => {
    expect([featureDownscale(512, 512), featureDownscale(600, 600), featureDownscale(800, 500)]).toEqual([
      2, 2, 3,
    ]);
    expect([featureDownscale(1000, 1000), featureDownscale(1024, 1024)]).toEqual([3, 4]);
  });

  it('keeps the method constants', () => {
    expect(METHOD.scheduleShift).toEqual({ minTokens: 256, minMu: 0.5, maxTokens: 4096, maxMu: 1.15 });
    expect(METHOD.regionWeight).toEqual({ base: 1, numerator: 0.5, offset: 0.1, min: 1, max: 5 });
    expect([METHOD.maxTextTokens, METHOD.imageSideMultiple, METHOD.maskThreshold]).toEqual([256, 16, 0.5]);
    expect(METHOD.warp).toEqual({
      interpolation: 'bilinear',
      featurePadding: 'border',
      maskPadding: 'zeros',
    });
  });
});
