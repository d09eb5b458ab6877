import { describe, expect, it } from 'vitest';
import { fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { type FluxConfig, fluxConfigs } from '../../src/flux/config.ts';
import { FluxModelError } from '../../src/flux/errors.ts';
import { buildFeatureGraph, featureMapBytes, featureMapSize } from '../../src/flux/features.ts';
import { transformerFeeds } from '../../src/flux/feeds.ts';
import { imagePositionIds, textPositionIds } from '../../src/flux/rope.ts';
import { buildVelocityGraph, DRAGFLOW_KV_BLOCKS, names, type TokenGrid } from '../../src/flux/transformer.ts';
import { createSession } from '../../src/graph/session.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/weights/dtype.ts';
import {
  maxRelativeError,
  randomArray,
  randomSource,
  randomWeights,
  referenceFeatures,
  referenceFlux,
  toRows,
} from './reference-flux.ts';

const tiny = fluxConfigs.tiny;
const grid: TokenGrid = { batch: 1, height: 2, width: 3, textTokens: 4 };
const weights = randomWeights(fluxCheckpointKeys(tiny), 7);
const source = (spec: { name: string }) => weights.get(spec.name);

function tinyCall(seed: number, config: FluxConfig = tiny) {
  const random = randomSource(seed);
  const tokens = grid.height * grid.width;
  return {
    img: randomArray(random, tokens * config.inChannels),
    imgIds: imagePositionIds(grid.height, grid.width),
    txt: randomArray(random, grid.textTokens * config.contextInDim),
    txtIds: textPositionIds(grid.textTokens),
    timesteps: [0.61],
    y: randomArray(random, config.vecInDim),
    ...(config.guidanceEmbed ? { guidance: [3.5] } : {}),
  };
}

describe('velocity graph', () => {
  it('matches an independent plain-TS forward pass on random tiny weights', async () => {
    for (const config of [tiny, fluxConfigs['tiny-schnell']]) {
      const call = tinyCall(11, config);
      const graph = buildVelocityGraph(config, { grid, weights: { source } });
      const out = await (await createSession(graph))(transformerFeeds(config, grid, call));
      const tokens = grid.height * grid.width;
      const expected = referenceFlux(config, weights, {
        img: toRows(call.img, tokens, config.inChannels),
        imgIds: toRows(call.imgIds, tokens, 3),
        txt: toRows(call.txt, grid.textTokens, config.contextInDim),
        txtIds: toRows(call.txtIds, grid.textTokens, 3),
        timestep: call.timesteps[0]!,
        y: Array.from(call.y),
        ...(call.guidance ? { guidance: call.guidance[0]! } : {}),
      }).flat();
      expect(out[names.velocity]!.dims).toEqual([1, tokens, config.outChannels]);
      expect(maxRelativeError(out[names.velocity]!.data as Float32Array, expected)).toBeLessThan(1e-5);
    }
  });

  it('adds the adapter branch with its scale (checked against the reference)', async () => {
    const call = tinyCall(12);
    const adapterTokens = 3;
    const graph = buildVelocityGraph(tiny, { grid, weights: { source }, adapterTokens });
    const run = await createSession(graph);
    const random = randomSource(5);
    const d = 24;
    const base = transformerFeeds(tiny, grid, call);
    const feeds: Record<string, Float32Array> = { ...base };
    const kv = new Map<string, { k: number[][][]; v: number[][][] }>();
    for (const kind of ['double', 'single'] as const) {
      for (let i = 0; i < 2; i++) {
        const k = randomArray(random, 2 * adapterTokens * d);
        const v = randomArray(random, 2 * adapterTokens * d);
        feeds[names.adapter(kind, i, 'k')] = k;
        feeds[names.adapter(kind, i, 'v')] = v;
        const heads = (x: Float32Array) =>
          [0, 1].map((h) => toRows(x.subarray(h * adapterTokens * d), adapterTokens, d));
        kv.set(`${kind}.${i}`, { k: heads(k), v: heads(v) });
      }
    }
    const tokens = grid.height * grid.width;
    const reference = (scale: number) =>
      referenceFlux(tiny, weights, {
        img: toRows(call.img, tokens, tiny.inChannels),
        imgIds: toRows(call.imgIds, tokens, 3),
        txt: toRows(call.txt, grid.textTokens, tiny.contextInDim),
        txtIds: toRows(call.txtIds, grid.textTokens, 3),
        timestep: call.timesteps[0]!,
        y: Array.from(call.y),
        guidance: 3.5,
        adapter: { scale, kv },
      }).flat();
    const withScale = async (scale: number) =>
      (await run({ ...feeds, [names.adapterScale]: Float32Array.from([scale]) }))[names.velocity]!
        .data as Float32Array;
    const plain = (
      await (
        await createSession(buildVelocityGraph(tiny, { grid, weights: { source } }))
      )(base)
    )[names.velocity]!.data as Float32Array;
    expect(maxRelativeError(await withScale(0), plain)).toBeLessThan(1e-6);
    const strong = await withScale(1.5);
    expect(maxRelativeError(strong, reference(1.5))).toBeLessThan(1e-5);
    expect(maxRelativeError(strong, plain)).toBeGreaterThan(1e-2);
  });

  it('reproduces its output exactly when captured K/V are injected back', async () => {
    const blocks = { double: [0, 1], single: [1] };
    const capture = buildVelocityGraph(tiny, { grid, weights: { source }, kvCapture: blocks });
    const inject = buildVelocityGraph(tiny, { grid, weights: { source }, kvOverride: blocks });
    const runCapture = await createSession(capture);
    const runInject = await createSession(inject);
    const feeds = transformerFeeds(tiny, grid, tinyCall(13));
    const captured = await runCapture(feeds);
    expect(captured[names.kvOut('double', 1, 'k')]!.dims).toEqual([1, 2, 6, 24]);
    expect(captured[names.kvOut('single', 1, 'v')]!.dims).toEqual([1, 2, 10, 24]);
    const kvFeeds: Record<string, Float32Array> = {};
    for (const kind of ['double', 'single'] as const) {
      for (const block of blocks[kind]) {
        for (const which of ['k', 'v'] as const) {
          kvFeeds[names.kvIn(kind, block, which)] = captured[names.kvOut(kind, block, which)]!
            .data as Float32Array;
        }
      }
    }
    const injected = await runInject({ ...feeds, ...kvFeeds });
    expect(Array.from(injected[names.velocity]!.data as Float32Array)).toEqual(
      Array.from(captured[names.velocity]!.data as Float32Array),
    );

    // K/V captured at another timestep do change the result: the override is really used.
    const other = await runCapture(transformerFeeds(tiny, grid, { ...tinyCall(13), timesteps: [0.2] }));
    const otherKv = Object.fromEntries(
      Object.keys(kvFeeds).map((key) => [key, other[key.replace('kv_in', 'kv_out')]!.data as Float32Array]),
    );
    const moved = await runInject({ ...feeds, ...otherKv });
    expect(
      maxRelativeError(
        moved[names.velocity]!.data as Float32Array,
        captured[names.velocity]!.data as Float32Array,
      ),
    ).toBeGreaterThan(1e-3);
  });

  it('with kvDtype float16 captures K/V as float16 and injects float16 K/V like their float32 values', async () => {
    const blocks = { double: [0, 1], single: [1] };
    const options = { grid, weights: { source } };
    const capture32 = buildVelocityGraph(tiny, { ...options, kvCapture: blocks });
    const capture16 = buildVelocityGraph(tiny, { ...options, kvCapture: blocks, kvDtype: 'float16' });
    const inject32 = buildVelocityGraph(tiny, { ...options, kvOverride: blocks });
    const inject16 = buildVelocityGraph(tiny, { ...options, kvOverride: blocks, kvDtype: 'float16' });
    const kvPairs = (['double', 'single'] as const).flatMap((kind) =>
      blocks[kind].flatMap((block) =>
        (['k', 'v'] as const).map((which) => ({
          input: names.kvIn(kind, block, which),
          output: names.kvOut(kind, block, which),
        })),
      ),
    );
    expect(
      kvPairs.map(({ output }) => capture16.outputs.find((o) => o.name === output)!.tensor.dtype),
    ).toEqual(Array(6).fill('float16'));
    expect(kvPairs.map(({ input }) => inject16.inputs.find((t) => t.name === input)!.dtype)).toEqual(
      Array(6).fill('float16'),
    );
    expect(inject32.inputs.find((t) => t.name === kvPairs[0]!.input)!.dtype).toBe('float32');

    const feeds = transformerFeeds(tiny, grid, tinyCall(13));
    const full = await (await createSession(capture32))(feeds);
    const halves = await (await createSession(capture16))(feeds);
    // The cast sits after the velocity's inputs: the velocity itself is untouched.
    expect(Array.from(halves[names.velocity]!.data as Float32Array)).toEqual(
      Array.from(full[names.velocity]!.data as Float32Array),
    );
    const kv16: Record<string, Uint16Array> = {};
    const kvRounded: Record<string, Float32Array> = {};
    let moved = 0;
    for (const { input, output } of kvPairs) {
      expect(halves[output]!.data).toBeInstanceOf(Uint16Array);
      expect(halves[output]!.dims).toEqual(full[output]!.dims);
      const half = halves[output]!.data as Uint16Array;
      const exact = full[output]!.data as Float32Array;
      // onnxruntime's Cast rounds as the host's f32ToF16 does (nearest, ties to even).
      expect(Array.from(half)).toEqual(Array.from(f32ToF16(exact)));
      kv16[input] = half;
      kvRounded[input] = f16ToF32(half);
      moved += kvRounded[input].filter((x, i) => x !== exact[i]).length;
    }
    expect(moved).toBeGreaterThan(0);
    expect(halves[names.kvOut('single', 1, 'v')]!.dims).toEqual([1, 2, 10, 24]);

    const fromHalves = await (await createSession(inject16))({ ...feeds, ...kv16 });
    const fromRounded = await (await createSession(inject32))({ ...feeds, ...kvRounded });
    expect(fromHalves[names.velocity]!.dims).toEqual([1, 6, tiny.outChannels]);
    expect(Array.from(fromHalves[names.velocity]!.data as Float32Array)).toEqual(
      Array.from(fromRounded[names.velocity]!.data as Float32Array),
    );
  });

  it('runs bfloat16-stored weights (cast in the graph) like their float32 values', async () => {
    const bf16 = new Map([...weights].map(([name, w]) => [name, f32ToBf16(w)]));
    const stored = buildVelocityGraph(tiny, {
      grid,
      weights: { source: (spec) => bf16.get(spec.name), stored: 'bfloat16' },
    });
    expect(new Set(stored.initializers.filter((i) => i.kind === 'param').map((i) => i.stored.dtype))).toEqual(
      new Set(['bfloat16']),
    );
    const widened = buildVelocityGraph(tiny, {
      grid,
      weights: { source: (spec) => bf16ToF32(bf16.get(spec.name)!) },
    });
    const feeds = transformerFeeds(tiny, grid, tinyCall(14));
    const a = (await (await createSession(stored))(feeds))[names.velocity]!.data as Float32Array;
    const b = (await (await createSession(widened))(feeds))[names.velocity]!.data as Float32Array;
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('binds exactly the checkpoint tensors, with their shapes', () => {
    const graph = buildVelocityGraph(tiny, { grid, weights: { source } });
    const params = graph.initializers
      .filter((i) => i.kind === 'param')
      .map((i) => [i.stored.name, i.stored.shape] as const);
    const expected = fluxCheckpointKeys(tiny).map((s) => [s.name, s.shape] as const);
    expect(new Map(params)).toEqual(new Map(expected));
  });

  it('builds flux1-dev at 512x512 with DragFlow K/V capture and the adapter (shape inference only)', () => {
    const dev = fluxConfigs['flux1-dev'];
    const full: TokenGrid = { batch: 1, height: 32, width: 32, textTokens: 512 };
    const graph = buildVelocityGraph(dev, { grid: full, kvCapture: DRAGFLOW_KV_BLOCKS, adapterTokens: 1024 });
    const outputs = new Map(graph.outputs.map((o) => [o.name, o.tensor.shape]));
    expect(outputs.get(names.velocity)).toEqual([1, 1024, 64]);
    expect(outputs.size).toBe(1 + 2 * 13);
    expect(outputs.get(names.kvOut('double', 18, 'k'))).toEqual([1, 24, 1024, 128]);
    expect(outputs.get(names.kvOut('single', 37, 'v'))).toEqual([1, 24, 1536, 128]);
    const inputs = new Map(graph.inputs.map((t) => [t.name, t.shape]));
    expect(inputs.size).toBe(7 + 1 + 2 * 57);
    expect(inputs.get(names.peCos)).toEqual([1, 1536, 64]);
    expect(inputs.get(names.peSin)).toEqual([1, 1536, 64]);
    expect(inputs.get(names.timestepEmbedding)).toEqual([1, 256]);
    expect(inputs.get(names.guidanceEmbedding)).toEqual([1, 256]);
    // No float64 anywhere: tables and embeddings come from the host.
    expect(graph.nodes.some((n) => n.outputs.some((t) => t.dtype === 'float64'))).toBe(false);
    expect(inputs.get(names.adapter('single', 37, 'k'))).toEqual([1, 24, 1024, 128]);
    expect(graph.initializers.filter((i) => i.kind === 'param').length).toBe(780);

    const injected = buildVelocityGraph(fluxConfigs['flux1-schnell'], {
      grid: full,
      kvOverride: DRAGFLOW_KV_BLOCKS,
    });
    const injectedInputs = new Map(injected.inputs.map((t) => [t.name, t.shape]));
    expect(injectedInputs.size).toBe(6 + 2 * 13);
    expect(injectedInputs.has(names.guidanceEmbedding)).toBe(false);
    expect(injectedInputs.get(names.kvIn('double', 0, 'v'))).toEqual([1, 24, 1024, 128]);
  });

  it('refuses bad options with precise codes', () => {
    const expectCode = (fn: () => unknown, code: string, message: string) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(FluxModelError);
        expect(`${(e as FluxModelError).code}: ${(e as Error).message}`).toBe(`${code}: ${message}`);
        return;
      }
      throw new Error('expected a FluxModelError');
    };
    expectCode(
      () => buildVelocityGraph(tiny, { grid, kvCapture: { double: [2], single: [] } }),
      'invalid_block_selection',
      "kvCapture: double block 2 is not a distinct index in [0, 1] for 'tiny'",
    );
    expectCode(
      () => buildVelocityGraph(tiny, { grid, kvOverride: { double: [], single: [1, 1] } }),
      'invalid_block_selection',
      "kvOverride: single block 1 is not a distinct index in [0, 1] for 'tiny'",
    );
    expectCode(
      () => buildVelocityGraph(tiny, { grid: { ...grid, height: 0 } }),
      'invalid_input_shape',
      'grid.height must be an integer in [1, 256], got 0',
    );
    expectCode(
      () => transformerFeeds(tiny, grid, { ...tinyCall(1), guidance: undefined }),
      'invalid_input_shape',
      "'tiny' embeds guidance: the call needs guidance",
    );
    expectCode(
      () => transformerFeeds(tiny, grid, { ...tinyCall(1), img: new Float32Array(3) }),
      'invalid_input_shape',
      'img has 3 values, expected 96',
    );
  });
});

/** The 32x48 image a 2x3 grid covers with FLUX.1's 16 pixels per token. */
const image = { height: 32, width: 48 };

describe('feature graph', () => {
  it('returns the taps of the last two double blocks and computes nothing after them', async () => {
    const graph = buildFeatureGraph(tiny, { grid, image, weights: { source } });
    const outputs = new Map(graph.outputs.map((o) => [o.name, o.tensor.shape]));
    // 2 x 3 tokens -> 4 x 6 latent; image 32 x 48 / s = 2 -> 16 x 24 maps of 48/4 channels, four of them.
    expect(outputs).toEqual(
      new Map([
        ['feature.0.modulated', [1, 6, 48]],
        ['feature.0.output', [1, 6, 48]],
        ['feature.1.modulated', [1, 6, 48]],
        ['feature.1.output', [1, 6, 48]],
        ['features', [1, 48, 16, 24]],
      ]),
    );
    const params = graph.initializers.filter((i) => i.kind === 'param').map((i) => i.stored.name);
    expect(params.some((n) => n.startsWith('single_blocks.') || n.startsWith('final_layer.'))).toBe(false);

    const early = buildFeatureGraph(tiny, {
      grid,
      image,
      weights: { source },
      taps: [{ block: 0, point: 'output' }],
    });
    const earlyParams = early.initializers.filter((i) => i.kind === 'param').map((i) => i.stored.name);
    expect(earlyParams.some((n) => n.startsWith('double_blocks.1.'))).toBe(false);
    const out = await (await createSession(graph))(transformerFeeds(tiny, grid, tinyCall(3)));
    const earlyOut = await (await createSession(early))(transformerFeeds(tiny, grid, tinyCall(3)));
    expect(Array.from(earlyOut['feature.0.output']!.data as Float32Array)).toEqual(
      Array.from(out['feature.0.output']!.data as Float32Array),
    );
  });

  it('unpacks tokens as "b (h w) (c ph pw) -> b c (h ph) (w pw)" when no resize is needed', async () => {
    const graph = buildFeatureGraph(tiny, {
      grid,
      image,
      weights: { source },
      taps: [{ block: 1, point: 'output' }],
      mapSize: { height: 4, width: 6 },
    });
    const out = await (await createSession(graph))(transformerFeeds(tiny, grid, tinyCall(4)));
    const tokensData = out['feature.1.output']!.data as Float32Array;
    const map = out.features!.data as Float32Array;
    expect(out.features!.dims).toEqual([1, 12, 4, 6]);
    for (let c = 0; c < 12; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 6; x++) {
          const token = Math.floor(y / 2) * 3 + Math.floor(x / 2);
          const channel = c * 4 + (y % 2) * 2 + (x % 2);
          expect(map[(c * 4 + y) * 6 + x]).toBe(tokensData[token * 48 + channel]);
        }
      }
    }
  });

  it('upsamples the unpacked maps to image / s like torch bilinear (align_corners=False), taps in order', async () => {
    const graph = buildFeatureGraph(tiny, { grid, image, weights: { source } });
    const out = await (await createSession(graph))(transformerFeeds(tiny, grid, tinyCall(5)));
    const map = out.features!.data as Float32Array;
    const order = ['feature.0.modulated', 'feature.0.output', 'feature.1.modulated', 'feature.1.output'];
    const expected = referenceFeatures(
      order.map((name) => out[name]!.data as Float32Array),
      grid,
      48,
      { height: 16, width: 24 },
    );
    expect(map.length).toBe(expected.length);
    expect(maxRelativeError(map, expected)).toBeLessThan(1e-6);
  });

  it('sizes the maps by the reference rule: the image in pixels / s', () => {
    // s = 2 (mean side <= 600), 3 (<= 1000), else 4; the map is floor(side / s).
    expect(featureMapSize({ height: 512, width: 512 })).toEqual({ height: 256, width: 256 });
    expect(featureMapSize({ height: 768, width: 768 })).toEqual({ height: 256, width: 256 });
    expect(featureMapSize({ height: 1024, width: 1536 })).toEqual({ height: 256, width: 384 });
    expect(featureMapSize({ height: 592, width: 608 })).toEqual({ height: 296, width: 304 });
    expect(featureMapSize({ height: 608, width: 608 })).toEqual({ height: 202, width: 202 });
    // One float32 map of FLUX.1's four taps (3072 channels) at 512x512: 0.75 GiB.
    expect(featureMapBytes({ height: 256, width: 256 }, 4, fluxConfigs['flux1-dev'])).toBe(805_306_368);
  });

  it('refuses an image that is not a whole number of pixels per token of the grid', () => {
    expect(() =>
      buildFeatureGraph(tiny, { grid, image: { height: 32, width: 40 }, weights: { source } }),
    ).toThrow('a 40x32 image is not a whole number of pixels per token of the 3x2 grid');
  });

  it('at flux1-dev 512x512 gives 3072 channels at 256x256 from blocks 17 and 18', () => {
    const graph = buildFeatureGraph(fluxConfigs['flux1-dev'], {
      grid: { batch: 1, height: 32, width: 32, textTokens: 512 },
      image: { height: 512, width: 512 },
      kvOverride: DRAGFLOW_KV_BLOCKS,
    });
    const outputs = new Map(graph.outputs.map((o) => [o.name, o.tensor.shape]));
    expect(outputs.get('features')).toEqual([1, 3072, 256, 256]);
    expect([...outputs.keys()].filter((n) => n !== 'features')).toEqual([
      'feature.17.modulated',
      'feature.17.output',
      'feature.18.modulated',
      'feature.18.output',
    ]);
    // Only the double-block overrides are inputs: single blocks are never computed.
    const kvInputs = graph.inputs.filter((t) => t.name.startsWith('kv_in.')).map((t) => t.name);
    expect(kvInputs.length).toBe(12);
    expect(kvInputs.every((n) => n.startsWith('kv_in.double.'))).toBe(true);
  });
});
