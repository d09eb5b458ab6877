import { describe, expect, it } from 'vitest';
import { fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { fluxConfigs } from '../../src/flux/config.ts';
import { buildDragStepGraph, dragStepNames } from '../../src/flux/drag-step.ts';
import { buildEditGraph, editGraphNames } from '../../src/flux/edit-graph.ts';
import { buildFeatureGraph } from '../../src/flux/features.ts';
import { transformerFeeds } from '../../src/flux/feeds.ts';
import { imagePositionIds, textPositionIds } from '../../src/flux/rope.ts';
import { buildVelocityGraph, names, type TokenGrid } from '../../src/flux/transformer.ts';
import { toModelBytes } from '../../src/graph/serialize.ts';
import { createSession, type Feeds } from '../../src/graph/session.ts';
import { randomArray, randomSource, randomWeights } from './reference-flux.ts';

const tiny = fluxConfigs.tiny;
const grid: TokenGrid = { batch: 1, height: 2, width: 3, textTokens: 4 };
// The image the grid covers, and maps at the latent's token size: small supervision feeds.
const maps = { image: { height: 32, width: 48 }, mapSize: { height: 2, width: 3 } };
const weights = randomWeights(fluxCheckpointKeys(tiny), 31);
const source = (spec: { name: string }) => weights.get(spec.name);
const random = randomSource(77);
const array = (length: number) => randomArray(random, length);
const kvBlocks = { double: [0], single: [1] };
const call = transformerFeeds(tiny, grid, {
  img: array(6 * tiny.inChannels),
  imgIds: imagePositionIds(2, 3),
  txt: array(4 * tiny.contextInDim),
  txtIds: textPositionIds(4),
  timesteps: [0.7],
  y: array(tiny.vecInDim),
  guidance: [3.5],
});
const supervision = {
  [dragStepNames.warpedFeatures]: array(2 * 48 * 6),
  [dragStepNames.regionMasks]: Float32Array.from([1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1]),
  [dragStepNames.regionWeights]: Float32Array.from([0.7, 0.3]),
};
const kvInputs = ['double.0', 'single.1'].flatMap((b) => ['k', 'v'].map((w) => `kv_in.${b}.${w}`));
const bool = (value: boolean) => Uint8Array.of(value ? 1 : 0);
const values = (out: Awaited<ReturnType<Awaited<ReturnType<typeof createSession>>>>, name: string) =>
  Array.from(out[name]!.data as Float32Array);

describe('edit graph (one session for every transformer call of an edit)', async () => {
  const edit = buildEditGraph(tiny, {
    grid,
    ...maps,
    weights: { source },
    regions: 2,
    kvBlocks,
    kvDtype: 'float32',
    rematerializeBlocks: true,
  });
  const run = await createSession(edit);
  /** One-element stand-ins for the inputs a run does not read (dynamic sizes). */
  const placeholders: Feeds = Object.fromEntries(
    edit.inputs
      .filter((t) => t.dimParams !== undefined)
      .map((t) => [t.name, { data: new Float32Array(1), dims: t.shape.map(() => 1) }] as const),
  );
  const feeds = (role: { velocity: boolean; drag: boolean; inject: boolean }, extra: Feeds = {}): Feeds => ({
    ...call,
    ...placeholders,
    [editGraphNames.runVelocity]: bool(role.velocity),
    [editGraphNames.runDragStep]: bool(role.drag),
    [names.injectKv]: bool(role.inject),
    ...extra,
  });

  it('holds each weight once, as stored, and only its dynamic inputs are resizable', () => {
    const params = edit.initializers.filter((i) => i.kind === 'param').map((i) => i.stored.name);
    expect(params.length).toBe(fluxCheckpointKeys(tiny).length);
    expect(new Set(params).size).toBe(params.length);
    expect(
      edit.inputs
        .filter((t) => t.dimParams)
        .map((t) => t.name)
        .sort(),
    ).toEqual(
      [
        ...kvInputs,
        dragStepNames.warpedFeatures,
        dragStepNames.regionMasks,
        dragStepNames.regionWeights,
      ].sort(),
    );
    // One If chooses velocity; the drag step lives in the nested If of its else branch.
    const ifs = edit.nodes.filter((n) => n.op === 'If');
    expect(ifs.length).toBe(1);
    expect(ifs[0]!.branches![1].nodes.filter((n) => n.op === 'If').length).toBe(1);
    expect(toModelBytes(edit).length).toBeGreaterThan(0);
  });

  it('captures K/V and returns the velocity of the velocity graph, then injects like the injection graph', async () => {
    const capture = await createSession(
      buildVelocityGraph(tiny, { grid, weights: { source }, kvCapture: kvBlocks }),
    );
    const expected = await capture(call);
    // Capturing runs inject nothing: one placeholder token per head.
    const kvPlaceholders = Object.fromEntries(
      kvInputs.map((n) => [n, { data: new Float32Array(2 * 24), dims: [1, 2, 1, 24] }] as const),
    );
    const captured = await run(feeds({ velocity: true, drag: false, inject: false }, kvPlaceholders));
    expect(values(captured, names.velocity)).toEqual(values(expected, names.velocity));
    // Velocity runs build no supervision map.
    expect(captured.features!.dims).toEqual([1, 1, 1, 1]);
    for (const n of kvInputs) {
      const out = n.replace('kv_in', 'kv_out');
      expect(values(captured, out)).toEqual(values(expected, out));
    }
    // Inject K/V captured at another time: the injection graph's velocity, exactly.
    const other = await capture({
      ...call,
      ...transformerFeeds(tiny, grid, {
        img: call[names.img]!,
        imgIds: imagePositionIds(2, 3),
        txt: call[names.txt]!,
        txtIds: textPositionIds(4),
        timesteps: [0.2],
        y: call[names.y]!,
        guidance: [3.5],
      }),
    });
    const kv = Object.fromEntries(
      kvInputs.map((n) => [n, other[n.replace('kv_in', 'kv_out')]!.data as Float32Array]),
    );
    const inject = await createSession(
      buildVelocityGraph(tiny, { grid, weights: { source }, kvOverride: kvBlocks }),
    );
    const injected = await run(feeds({ velocity: true, drag: false, inject: true }, kv));
    expect(values(injected, names.velocity)).toEqual(
      values(await inject({ ...call, ...kv }), names.velocity),
    );
    expect(values(injected, names.velocity)).not.toEqual(values(captured, names.velocity));
  });

  it('computes the features graph alone, and the drag step graph, with K/V injected', async () => {
    const kv = Object.fromEntries(
      kvInputs.map((n, i) => [n, array(2 * (n.includes('double') ? 6 : 10) * 24).map((x) => x + i)]),
    );
    const doubleKv = Object.fromEntries(Object.entries(kv).filter(([n]) => n.includes('double')));
    const features = await createSession(
      buildFeatureGraph(tiny, {
        grid,
        ...maps,
        weights: { source },
        kvOverride: { double: [0], single: [] },
      }),
    );
    const onlyFeatures = await run(feeds({ velocity: false, drag: false, inject: true }, kv));
    expect(values(onlyFeatures, 'features')).toEqual(
      values(await features({ ...call, ...doubleKv }), 'features'),
    );
    // Nothing after the features ran: the outputs it did not compute are one-element placeholders.
    expect(onlyFeatures[names.velocity]!.dims).toEqual([1, 1, 1]);
    expect(onlyFeatures[dragStepNames.gradient]!.dims).toEqual([1, 1, 1]);

    const dragGraph = buildDragStepGraph(tiny, {
      grid,
      ...maps,
      weights: { source },
      regions: 2,
      kvOverride: { double: [0], single: [] },
    });
    const expected = await (await createSession(dragGraph))({ ...call, ...doubleKv, ...supervision });
    const step = await run(feeds({ velocity: false, drag: true, inject: true }, { ...kv, ...supervision }));
    expect(values(step, dragStepNames.loss)[0]).toBeCloseTo(values(expected, dragStepNames.loss)[0]!, 6);
    const [a, b] = [values(step, dragStepNames.gradient), values(expected, dragStepNames.gradient)];
    expect(a.length).toBe(6 * tiny.inChannels);
    const scale = Math.max(...b.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-4);
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!))) / scale).toBeLessThan(1e-5);
  });
});
