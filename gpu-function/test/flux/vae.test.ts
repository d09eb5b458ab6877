import { describe, expect, it } from 'vitest';
import { autoEncoderCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { type AutoEncoderConfig, autoEncoderConfigs } from '../../src/flux/config.ts';
import { FluxModelError } from '../../src/flux/errors.ts';
import { buildDecoderGraph, buildEncoderGraph, vaeNames } from '../../src/flux/vae.ts';
import { createSession } from '../../src/graph/session.ts';
import { maxRelativeError, randomArray, randomSource, randomWeights } from './reference-flux.ts';

/** A feature map [C][H][W] in plain numbers. */
type Map3 = number[][][];

/** Independent plain-TS autoencoder (batch 1) written from the reference module definitions. */
function referenceAutoEncoder(config: AutoEncoderConfig, weights: Map<string, Float32Array>) {
  const w = (name: string) => weights.get(name)!;
  const conv = (x: Map3, name: string, stride = 1, padBefore?: number, padAfter?: number): Map3 => {
    const weight = w(`${name}.weight`);
    const bias = w(`${name}.bias`);
    const inC = x.length;
    const outC = bias.length;
    const k = Math.round(Math.sqrt(weight.length / (outC * inC)));
    const before = padBefore ?? (k - 1) / 2;
    const after = padAfter ?? (k - 1) / 2;
    const h = x[0]!.length;
    const wd = x[0]![0]!.length;
    const outH = Math.floor((h + before + after - k) / stride) + 1;
    const outW = Math.floor((wd + before + after - k) / stride) + 1;
    return Array.from({ length: outC }, (_, o) =>
      Array.from({ length: outH }, (_, i) =>
        Array.from({ length: outW }, (_, j) => {
          let sum = bias[o]!;
          for (let c = 0; c < inC; c++) {
            for (let di = 0; di < k; di++) {
              for (let dj = 0; dj < k; dj++) {
                const y = i * stride + di - before;
                const xx = j * stride + dj - before;
                if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
                sum += weight[((o * inC + c) * k + di) * k + dj]! * x[c]![y]![xx]!;
              }
            }
          }
          return sum;
        }),
      ),
    );
  };
  const groupNorm = (x: Map3, name: string): Map3 => {
    const per = x.length / config.normGroups;
    return x.map((plane, c) => {
      const group = x.slice(Math.floor(c / per) * per, Math.floor(c / per) * per + per).flat(2);
      const mean = group.reduce((a, b) => a + b, 0) / group.length;
      const variance = group.reduce((a, b) => a + (b - mean) ** 2, 0) / group.length;
      return plane.map((row) =>
        row.map(
          (v) => ((v - mean) / Math.sqrt(variance + 1e-6)) * w(`${name}.weight`)[c]! + w(`${name}.bias`)[c]!,
        ),
      );
    });
  };
  const swish = (x: Map3): Map3 => x.map((p) => p.map((r) => r.map((v) => v / (1 + Math.exp(-v)))));
  const add = (a: Map3, b: Map3): Map3 =>
    a.map((p, c) => p.map((r, i) => r.map((v, j) => v + b[c]![i]![j]!)));
  const resnet = (x: Map3, name: string): Map3 => {
    const h = conv(
      swish(groupNorm(conv(swish(groupNorm(x, `${name}.norm1`)), `${name}.conv1`), `${name}.norm2`)),
      `${name}.conv2`,
    );
    return add(weights.has(`${name}.nin_shortcut.weight`) ? conv(x, `${name}.nin_shortcut`) : x, h);
  };
  const attn = (x: Map3, name: string): Map3 => {
    const n = groupNorm(x, `${name}.norm`);
    const [q, k, v] = ['q', 'k', 'v'].map((p) => conv(n, `${name}.${p}`).map((plane) => plane.flat()));
    const c = x.length;
    const pixels = q![0]!.length;
    const out = Array.from({ length: c }, () => new Array<number>(pixels).fill(0));
    for (let i = 0; i < pixels; i++) {
      const scores = Array.from(
        { length: pixels },
        (_, j) => q!.reduce((a, qc, ch) => a + qc[i]! * k![ch]![j]!, 0) / Math.sqrt(c),
      );
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const total = e.reduce((a, b) => a + b, 0);
      for (let ch = 0; ch < c; ch++) out[ch]![i] = e.reduce((a, p, j) => a + (p / total) * v![ch]![j]!, 0);
    }
    const width = x[0]![0]!.length;
    const attended = out.map((flat) =>
      Array.from({ length: x[0]!.length }, (_, i) => flat.slice(i * width, (i + 1) * width)),
    );
    return add(x, conv(attended, `${name}.proj_out`));
  };
  const mid = (x: Map3, name: string) =>
    resnet(attn(resnet(x, `${name}.block_1`), `${name}.attn_1`), `${name}.block_2`);
  const levels = config.chMult.length;
  return {
    encode(image: Map3): Map3 {
      let h = conv(image, 'encoder.conv_in');
      for (let level = 0; level < levels; level++) {
        for (let j = 0; j < config.numResBlocks; j++) h = resnet(h, `encoder.down.${level}.block.${j}`);
        if (level !== levels - 1) h = conv(h, `encoder.down.${level}.downsample.conv`, 2, 0, 1);
      }
      const moments = conv(swish(groupNorm(mid(h, 'encoder.mid'), 'encoder.norm_out')), 'encoder.conv_out');
      return moments
        .slice(0, config.zChannels)
        .map((p) => p.map((r) => r.map((v) => (v - config.shiftFactor) * config.scaleFactor)));
    },
    decode(latent: Map3): Map3 {
      const z = latent.map((p) => p.map((r) => r.map((v) => v / config.scaleFactor + config.shiftFactor)));
      let h = mid(conv(z, 'decoder.conv_in'), 'decoder.mid');
      for (let level = levels - 1; level >= 0; level--) {
        for (let j = 0; j <= config.numResBlocks; j++) h = resnet(h, `decoder.up.${level}.block.${j}`);
        if (level !== 0) {
          const up = h.map((p) =>
            Array.from({ length: 2 * p.length }, (_, i) =>
              Array.from({ length: 2 * p[0]!.length }, (_, j) => p[i >> 1]![j >> 1]!),
            ),
          );
          h = conv(up, `decoder.up.${level}.upsample.conv`);
        }
      }
      return conv(swish(groupNorm(h, 'decoder.norm_out')), 'decoder.conv_out');
    },
  };
}

function toMap(data: Float32Array, c: number, h: number, w: number): Map3 {
  return Array.from({ length: c }, (_, ci) =>
    Array.from({ length: h }, (_, i) => Array.from(data.subarray((ci * h + i) * w, (ci * h + i + 1) * w))),
  );
}

describe('autoencoder graphs', () => {
  const config = autoEncoderConfigs['tiny-ae'];
  const weights = randomWeights(autoEncoderCheckpointKeys(config), 3);
  const source = (spec: { name: string }) => weights.get(spec.name);
  const reference = referenceAutoEncoder(config, weights);

  it('encode and decode match a plain-TS reference on random tiny weights', async () => {
    const random = randomSource(17);
    const image = randomArray(random, 3 * 16 * 24);
    const encoder = buildEncoderGraph(config, { batch: 1, height: 16, width: 24, weights: { source } });
    const latent = (await (await createSession(encoder))({ [vaeNames.image]: image }))[vaeNames.latent]!;
    expect(latent.dims).toEqual([1, 4, 8, 12]);
    const expectedLatent = reference.encode(toMap(image, 3, 16, 24)).flat(2);
    expect(maxRelativeError(latent.data as Float32Array, expectedLatent)).toBeLessThan(1e-5);

    const decoder = buildDecoderGraph(config, { batch: 1, height: 16, width: 24, weights: { source } });
    const decoded = (
      await (
        await createSession(decoder)
      )({ [vaeNames.latent]: latent.data as Float32Array })
    )[vaeNames.image]!;
    expect(decoded.dims).toEqual([1, 3, 16, 24]);
    const expectedImage = reference.decode(toMap(latent.data as Float32Array, 4, 8, 12)).flat(2);
    expect(maxRelativeError(decoded.data as Float32Array, expectedImage)).toBeLessThan(1e-5);
  });

  it('bind exactly the ae.safetensors tensors between them', () => {
    const full = autoEncoderConfigs['flux1-ae'];
    const encoder = buildEncoderGraph(full, { batch: 1, height: 512, width: 768 });
    const decoder = buildDecoderGraph(full, { batch: 1, height: 512, width: 768 });
    const bound = [...encoder.initializers, ...decoder.initializers]
      .filter((i) => i.kind === 'param')
      .map((i) => [i.stored.name, i.stored.shape] as const);
    expect(new Map(bound)).toEqual(
      new Map(autoEncoderCheckpointKeys(full).map((s) => [s.name, s.shape] as const)),
    );
    expect(bound.length).toBe(244);
    expect(encoder.outputs[0]!.tensor.shape).toEqual([1, 16, 64, 96]);
    expect(decoder.inputs[0]!.shape).toEqual([1, 16, 64, 96]);
    expect(decoder.outputs[0]!.tensor.shape).toEqual([1, 3, 512, 768]);
  });

  it('refuses image sizes that are not multiples of 8', () => {
    const full = autoEncoderConfigs['flux1-ae'];
    expect(() => buildEncoderGraph(full, { batch: 1, height: 500, width: 512 })).toThrow(FluxModelError);
    expect(() => buildDecoderGraph(full, { batch: 1, height: 512, width: 0 })).toThrow(
      'VAE width 0 must be a multiple of 8 in [8, 4096]',
    );
  });
});
