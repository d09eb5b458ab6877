/** The pipeline's own pieces: latent layouts, the K/V cache, block mapping, drag targets, the model cache. */
import { PRESETS } from '@dragflow/shared/presets';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { packedLatentMask } from '../../src/dragflow/composite.ts';
import { optimisationKvSet, samplingKvSet } from '../../src/dragflow/kv-order.ts';
import { operationTransform, type RegionOperation } from '../../src/dragflow/operation.ts';
import { maskToPlanes, resizeMask } from '../../src/dragflow/region.ts';
import { warpPlanes } from '../../src/dragflow/warp.ts';
import { fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { fluxConfigs } from '../../src/flux/config.ts';
import { transformerFeeds } from '../../src/flux/feeds.ts';
import { imagePositionIds, textPositionIds } from '../../src/flux/rope.ts';
import { buildVelocityGraph, DRAGFLOW_KV_BLOCKS, names } from '../../src/flux/transformer.ts';
import { fromOrtTensor } from '../../src/graph/ort-data.ts';
import { createSession } from '../../src/graph/session.ts';
import { KvCache, kvBytesPerCall, kvBytesPerEdit, kvNames } from '../../src/pipeline/kv-cache.ts';
import { packLatent, planesToRgb, rgbToPlanes, unpackLatent } from '../../src/pipeline/latent.ts';
import type { EditModel } from '../../src/pipeline/model.ts';
import { modelBlocks } from '../../src/pipeline/model-blocks.ts';
import { ModelCache } from '../../src/pipeline/model-cache.ts';
import { dragTargets } from '../../src/pipeline/optimize.ts';
import { randomArray, randomSource, randomWeights } from '../flux/reference-flux.ts';

describe('latent layouts', () => {
  it('packs 2x2 cells as (c ph pw), the layout of packedLatentMask, and unpacks back', () => {
    const size = { width: 4, height: 6 };
    const channels = 3;
    const unpacked = Float32Array.from({ length: channels * 24 }, (_, i) => i);
    const packed = packLatent(unpacked, channels, size);
    // Token (row 1, column 0) holds pixel (y 2..3, x 0..1); channel 2, pixel (y 3, x 1) is at 2 * 4 + 1 * 2 + 1.
    expect(packed[(1 * 2 + 0) * 12 + 2 * 4 + 3]).toBe(unpacked[(2 * 6 + 3) * 4 + 1]);
    expect(unpackLatent(packed, channels, size)).toEqual(unpacked);
    const mask = {
      width: 4,
      height: 6,
      data: Uint8Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 1 : 0)),
    };
    const planes = new Float32Array(channels * 24);
    for (let c = 0; c < channels; c++) planes.set(mask.data, c * 24);
    expect(Array.from(packLatent(planes, channels, size))).toEqual(
      Array.from(packedLatentMask(mask, channels)),
    );
  });

  it('maps 8-bit RGB to [-1, 1] planes and back exactly', () => {
    const rgb = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const planes = rgbToPlanes(rgb, { width: 3, height: 2 });
    expect(planes[0]).toBe(-1 + (2 * rgb[0]!) / 255);
    expect(planes[6]).toBeCloseTo((rgb[1]! / 255) * 2 - 1, 6);
    expect(planesToRgb(planes, { width: 3, height: 2 })).toEqual(rgb);
  });
});

describe('K/V cache', () => {
  it('costs 3.71 GB (float16) per edit for FLUX.1-dev at 512x512 with the paper blocks', () => {
    const grid = { batch: 1, height: 32, width: 32, textTokens: 256 };
    // Double blocks: 24 heads x 1024 image tokens x 128; single: x (256 + 1024) tokens; K and V; 2 bytes.
    const perCall = 6 * 2 * 24 * 1024 * 128 * 2 + 7 * 2 * 24 * 1280 * 128 * 2;
    expect(kvBytesPerCall(fluxConfigs['flux1-dev'], grid, DRAGFLOW_KV_BLOCKS)).toBe(perCall);
    // 25 - 6 = 19 FireFlow steps: 20 calls.
    expect(kvBytesPerEdit(fluxConfigs['flux1-dev'], grid, DRAGFLOW_KV_BLOCKS, 19)).toBe(20 * perCall);
    expect(20 * perCall).toBe(3_711_959_040);
  });

  it('keeps the captured float16 sets as they are and hands them back by index', () => {
    const blocks = { double: [0], single: [] };
    const cache = new KvCache(blocks);
    const k = names.kvOut('double', 0, 'k');
    const v = names.kvOut('double', 0, 'v');
    // float16 bit patterns as onnxruntime returns them: 0x3c00 = 1, 0x7bff = 65504.
    const captured = [0, 1, 2, 3].map((call) => ({
      [k]: Uint16Array.from([0x3c00 + call, 0xc000]),
      [v]: Uint16Array.from([call, 0x7bff]),
    }));
    for (const set of captured) cache.store(set);
    expect(cache.calls).toBe(4);
    expect(cache.bytes).toBe(4 * 2 * 2 * 2);
    const inputs = cache.inputs(2);
    expect(Object.keys(inputs).sort()).toEqual([names.kvIn('double', 0, 'k'), names.kvIn('double', 0, 'v')]);
    // No copy and no conversion: the graph's own float16 data goes back in.
    expect(inputs[names.kvIn('double', 0, 'k')]).toBe(captured[2]![k]);
    expect(Array.from(inputs[names.kvIn('double', 0, 'v')]!)).toEqual([2, 0x7bff]);
    expect(() => cache.store({ [k]: Float32Array.from([1, 2]), [v]: Uint16Array.from([1, 2]) })).toThrow(
      "K/V capture output 'kv_out.double.0.k' is not float16",
    );
    expect(() => cache.store({ [k]: Uint16Array.from([1, 2]) })).toThrow(
      "K/V capture output 'kv_out.double.0.v' is missing",
    );
    expect([cache.calls, cache.bytes]).toEqual([4, 4 * 2 * 2 * 2]);
    // 3 inversion steps (4 calls): sampling call k takes set 3 - k (reference_code) or 4 - k (same_time).
    expect([0, 1, 2, 3].map((call) => samplingKvSet(call, cache.calls, 'reference_code'))).toEqual([
      3, 2, 1, 0,
    ]);
    expect([0, 1, 2, 3].map((call) => samplingKvSet(call, cache.calls, 'same_time'))).toEqual([3, 3, 2, 1]);
    expect(optimisationKvSet(cache.calls)).toBe(3);
    expect(() => cache.inputs(4)).toThrow(RangeError);
  });

  it('holds the same bits whether onnxruntime returned float16 as Uint16Array (Node 20) or Float16Array (Node 24)', async () => {
    const Float16 = (globalThis as { Float16Array?: new (buffer: ArrayBuffer) => ArrayBufferView })
      .Float16Array;
    expect(Float16).toBeDefined(); // the project runs on Node 24, where onnxruntime returns Float16Array
    const blocks = { double: [0], single: [0] };
    const grid = { batch: 1, height: 2, width: 2, textTokens: 2 };
    const config = fluxConfigs.tiny;
    const weights = randomWeights(fluxCheckpointKeys(config), 3);
    const options = { grid, weights: { source: (spec: { name: string }) => weights.get(spec.name) } };
    const capture = await createSession(
      buildVelocityGraph(config, { ...options, kvCapture: blocks, kvDtype: 'float16' }),
    );
    const inject = await createSession(
      buildVelocityGraph(config, { ...options, kvOverride: blocks, kvDtype: 'float16' }),
    );
    const random = randomSource(5);
    const feeds = transformerFeeds(config, grid, {
      img: randomArray(random, 4 * config.inChannels),
      imgIds: imagePositionIds(2, 2),
      txt: randomArray(random, 2 * config.contextInDim),
      txtIds: textPositionIds(2),
      timesteps: [0.4],
      y: randomArray(random, config.vecInDim),
      guidance: [3.5],
    });
    const captured = await capture(feeds);
    const outputs = kvNames(blocks).map(({ output }) => output);
    // The same captured bits, in the two shapes onnxruntime-node hands them back in, through the boundary.
    const asNode20: Record<string, Uint16Array> = {};
    const asNode24: Record<string, Uint16Array> = {};
    for (const name of outputs) {
      const bits = Uint16Array.from(captured[name]!.data as Uint16Array);
      bits[0] = 0x7e01; // a NaN payload and a negative zero must survive the view unchanged
      bits[1] = 0x8000;
      const dims = captured[name]!.dims;
      asNode20[name] = fromOrtTensor({
        type: 'float16',
        data: bits,
        dims,
      } as unknown as ort.Tensor) as Uint16Array;
      const node24 = new ort.Tensor('float16', new Float16!(bits.slice().buffer) as never, [...dims]);
      expect(node24.data.constructor.name).toBe('Float16Array');
      asNode24[name] = fromOrtTensor(node24) as Uint16Array;
    }
    const cache20 = new KvCache(blocks);
    const cache24 = new KvCache(blocks);
    cache20.store(asNode20);
    cache24.store(asNode24);
    expect(cache24.bytes).toBe(cache20.bytes);
    expect(cache20.bytes).toBe(kvBytesPerCall(config, grid, blocks));
    for (const [input, bits] of Object.entries(cache20.inputs(0))) {
      expect(cache24.inputs(0)[input]).toBeInstanceOf(Uint16Array);
      expect(Array.from(cache24.inputs(0)[input]!)).toEqual(Array.from(bits));
    }
    const v20 = (await inject({ ...feeds, ...cache20.inputs(0) }))[names.velocity]!.data as Float32Array;
    const v24 = (await inject({ ...feeds, ...cache24.inputs(0) }))[names.velocity]!.data as Float32Array;
    expect(Array.from(v24)).toEqual(Array.from(v20));
  });
});

describe('model blocks', () => {
  it('keeps the paper blocks on FLUX.1 and maps them onto a smaller model with a note', () => {
    const full = modelBlocks(fluxConfigs['flux1-dev'], PRESETS.paper);
    expect(full.taps).toEqual([
      { block: 17, point: 'modulated' },
      { block: 17, point: 'output' },
      { block: 18, point: 'modulated' },
      { block: 18, point: 'output' },
    ]);
    expect(full.kv).toEqual(DRAGFLOW_KV_BLOCKS);
    expect(full.notes).toEqual([]);
    const tiny = modelBlocks(fluxConfigs.tiny, PRESETS.paper);
    expect(tiny.taps.map((t) => t.block)).toEqual([0, 0, 1, 1]);
    expect(tiny.kv).toEqual({ double: [0], single: [] });
    expect(tiny.notes[0]).toContain("model 'tiny' has 2 double and 2 single blocks");
  });
});

describe('drag targets', () => {
  it('equal warp(F0) inside p, with p the moved mask, for every operation', () => {
    const width = 16;
    const height = 12;
    const start = {
      channels: 3,
      height,
      width,
      data: Float32Array.from({ length: 3 * 16 * 12 }, (_, i) => Math.sin(i)),
    };
    const source = { width: 64, height: 48, data: new Uint8Array(64 * 48) };
    for (let y = 8; y < 24; y++) for (let x = 8; x < 20; x++) source.data[y * 64 + x] = 1;
    const ops: RegionOperation[] = [
      { kind: 'relocate', source, target: { x: 40, y: 30 } },
      { kind: 'rotate', source, target: { x: 30, y: 12 }, anchor: { x: 24, y: 24 } },
    ];
    const fraction = 0.6;
    const targets = dragTargets(start, ops, fraction);
    expect(Array.from(targets.weights)).toEqual([0.5, 0.5]);
    const plane = width * height;
    ops.forEach((op, i) => {
      const transform = operationTransform(op, fraction, { width, height });
      const full = warpPlanes(start, transform);
      const p = resizeMask(source, width, height);
      const moved = warpPlanes(maskToPlanes(p), transform, 'zeros');
      let inside = 0;
      for (let q = 0; q < plane; q++) {
        const m = targets.masks[i * plane + q]!;
        expect(m).toBe(moved.data[q]! > 0.5 ? 1 : 0);
        if (!m) continue;
        inside++;
        for (let c = 0; c < 3; c++)
          expect(targets.warped[(i * 3 + c) * plane + q]).toBe(full.data[c * plane + q]);
      }
      expect(inside).toBeGreaterThan(4);
    });
  });
});

describe('drag targets at the image edge', () => {
  it('drop the part of p that leaves the feature map and take border-padded features inside p', () => {
    // Feature map 8x2 of one channel, x + 10 y; the image is 32x8 (4 px per feature pixel).
    const start = {
      channels: 1,
      height: 2,
      width: 8,
      data: Float32Array.from({ length: 16 }, (_, i) => (i % 8) + 10 * Math.floor(i / 8)),
    };
    // Image columns 20..31 (feature columns 5..7), all rows: centroid x 25.5 -> feature 6 = b.
    const source = { width: 32, height: 8, data: new Uint8Array(32 * 8) };
    for (let y = 0; y < 8; y++) for (let x = 20; x < 32; x++) source.data[y * 32 + x] = 1;
    // Centroid y 3.5 -> feature 0.5 -> rounds to 1; target (34.5, 5.5) -> feature (8.25, 1): a shift
    // of 2.25 feature pixels to the right, off the edge.
    const leaving: RegionOperation = { kind: 'relocate', source, target: { x: 34.5, y: 5.5 } };
    const out = dragTargets(start, [leaving], 1);
    // Row masks: columns 5..7 moved by 2.25 read 2.75..4.75 and beyond: only columns 7 (reads 4.75:
    // 0.25 of column 4 (0) + 0.75 of column 5 (1) = 0.75) stays set; nothing wraps or smears.
    expect(Array.from(out.masks)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    // Inside p, warp(F0) at column 7 reads x 4.75 of its row.
    expect([out.warped[7], out.warped[15]]).toEqual([Math.fround(4.75), Math.fround(14.75)]);
    // A region on the left edge moved right is not extended back to the edge (border padding would).
    const left = { width: 32, height: 8, data: new Uint8Array(32 * 8) };
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) left.data[y * 32 + x] = 1;
    // Feature columns 0..1, b = (1, 1) (halves up), target feature (4, 1): a shift of 3. Columns 0..2
    // read left of the map: zeros.
    const fromEdge: RegionOperation = { kind: 'relocate', source: left, target: { x: 17.5, y: 5.5 } };
    const moved = dragTargets(start, [fromEdge], 1);
    expect(Array.from(moved.masks.subarray(0, 8))).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
  });
});

describe('model cache', () => {
  it('opens a model once per key and releases the least recently used beyond capacity', async () => {
    const released: string[] = [];
    let opened = 0;
    const fake = (name: string) => async () => {
      opened++;
      return { release: async () => void released.push(name) } as unknown as EditModel;
    };
    const cache = new ModelCache(2);
    const a = await cache.get('a', fake('a'));
    expect(await cache.get('a', fake('a'))).toBe(a);
    await cache.get('b', fake('b'));
    await cache.get('a', fake('a'));
    await cache.get('c', fake('c'));
    expect(opened).toBe(3);
    expect(released).toEqual(['b']);
    await cache.release();
    expect(released.sort()).toEqual(['a', 'b', 'c']);
  });
});
