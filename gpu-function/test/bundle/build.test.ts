import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCheckpointBundle,
  buildFromCheckpoints,
  buildRandomBundle,
  type ModelSpec,
  TINY_GRID,
} from '../../src/bundle/build.ts';
import { generatedCheckpoint, openCheckpoint } from '../../src/bundle/checkpoint-source.ts';
import { loadBundle } from '../../src/bundle/load.ts';
import { randomParameter } from '../../src/bundle/random-weights.ts';
import { inspectBundle, sha256File } from '../../src/bundle/verify.ts';
import { autoEncoderCheckpointKeys, fluxCheckpointKeys } from '../../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, fluxConfigs } from '../../src/flux/config.ts';
import { bf16ToF32 } from '../../src/weights/dtype.ts';
import { openSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundle-build-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const TINY_SPEC: ModelSpec = {
  model: 'tiny',
  transformer: fluxConfigs.tiny,
  autoencoder: autoEncoderConfigs['tiny-ae'],
  grid: TINY_GRID,
  licence: { id: 'Apache-2.0', commercial_use: true, url: 'https://www.apache.org/licenses/LICENSE-2.0' },
};

/** A BF16 safetensors file holding seeded random values for every key of `specs`. */
async function writeCheckpoint(
  path: string,
  specs: readonly { name: string; shape: readonly number[] }[],
  seed: number,
) {
  const tensors = specs.map((s) => ({
    name: s.name,
    dtype: 'BF16' as const,
    shape: s.shape,
    data: randomParameter(seed, s.name, s.shape, 'BF16'),
  }));
  return writeSafetensors(path, tensors);
}

async function readSlice(path: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(length);
    await handle.read(bytes, 0, length, offset);
    return bytes;
  } finally {
    await handle.close();
  }
}

describe('buildRandomBundle', () => {
  it('is deterministic in its seed and verifies intact', async () => {
    const a = await buildRandomBundle('tiny', 11, join(root, 'random-a'));
    await buildRandomBundle('tiny', 11, join(root, 'random-b'));
    const c = await buildRandomBundle('tiny', 12, `${join(root, 'random-c')}/`);
    const manifestA = await readFile(join(root, 'random-a', 'manifest.json'));
    expect(manifestA.equals(await readFile(join(root, 'random-b', 'manifest.json')))).toBe(true);
    expect(c.body.files['transformer.weights']!.sha256).not.toBe(a.body.files['transformer.weights']!.sha256);
    expect(c.body.files['velocity.onnx']).toEqual(a.body.files['velocity.onnx']);
    expect(a.body.graphs.map((g) => g.name)).toEqual([
      'velocity',
      'features',
      'drag_step',
      'vae_encoder',
      'vae_decoder',
    ]);
    expect(a.body.source).toEqual({ kind: 'random', generator: 'dragflow-uniform-v1', seed: 11 });
    expect(a.body.generative_prior).toBe(false);
    const tensorCount = fluxCheckpointKeys(fluxConfigs.tiny).length;
    expect(a.body.weight_files[0]!.tensors).toHaveLength(tensorCount);
    const report = await inspectBundle(join(root, 'random-a'));
    expect(report.problems).toEqual([]);
  });

  it('hashes discarded weights exactly as written ones (full-size checks on small disks)', async () => {
    const written = await buildRandomBundle('tiny', 11, join(root, 'random-kept'));
    const discarded = await buildRandomBundle('tiny', 11, join(root, 'random-discarded'), {
      discardWeights: true,
    });
    expect(discarded.body).toEqual(written.body);
    const report = await inspectBundle(join(root, 'random-discarded'));
    expect(report.problems.map((p) => [p.code, p.file])).toEqual([
      ['bundle_missing_file', 'transformer.weights'],
      ['bundle_missing_file', 'ae.weights'],
    ]);
  });

  it('refuses an output folder that already holds files', async () => {
    await mkdir(join(root, 'taken'));
    await writeFile(join(root, 'taken', 'keep.txt'), 'mine');
    await expect(buildRandomBundle('tiny', 1, join(root, 'taken'))).rejects.toMatchObject({
      code: 'bundle_out_exists',
    });
    expect(await readFile(join(root, 'taken', 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('checkpoint sources', () => {
  it('hash the checkpoint file from the single streaming read', async () => {
    const specs = [
      { name: 'a.weight', shape: [3, 5] },
      { name: 'b.bias', shape: [7] },
    ];
    const path = join(root, 'two.safetensors');
    const written = await writeCheckpoint(path, specs, 5);
    const fresh = await openCheckpoint(path);
    for (const t of fresh.tensors) for await (const _ of fresh.chunks(t.name));
    expect(fresh.digest()).toEqual({ bytes: written.bytes, sha256: await sha256File(path) });
    await fresh.close();
    // A generated checkpoint's digest is that of the file it would be, tensors in the same order.
    const generated = generatedCheckpoint('two.safetensors', specs, 'BF16', (t) =>
      randomParameter(5, t.name, t.shape, 'BF16'),
    );
    for (const t of generated.tensors) for await (const _ of generated.chunks(t.name));
    expect(generated.digest()).toEqual({ bytes: written.bytes, sha256: written.sha256 });
  });

  it('refuse tensors taken out of data order', async () => {
    const generated = generatedCheckpoint(
      'x',
      [
        { name: 'a', shape: [2] },
        { name: 'b', shape: [2] },
      ],
      'F32',
      () => [new Uint8Array(8)],
    );
    await expect(generated.chunks('b')[Symbol.asyncIterator]().next()).rejects.toThrow(
      "x: tensor 'b' requested out of data order (expected 'a')",
    );
  });
});

describe('buildCheckpointBundle', () => {
  it('streams BF16 checkpoints into a verified bundle recording their sha256', async () => {
    const dir = join(root, 'ckpt');
    await mkdir(dir);
    const transformerPath = join(dir, 'tiny.safetensors');
    const aePath = join(dir, 'ae.safetensors');
    await writeCheckpoint(transformerPath, fluxCheckpointKeys(fluxConfigs.tiny), 21);
    await writeCheckpoint(aePath, autoEncoderCheckpointKeys(autoEncoderConfigs['tiny-ae']), 22);
    const out = join(root, 'ckpt-bundle');
    const { body } = await buildCheckpointBundle(
      TINY_SPEC,
      await openCheckpoint(transformerPath),
      await openCheckpoint(aePath),
      out,
      { storage: 'float32' },
    );
    expect(body.source).toEqual({
      kind: 'checkpoint',
      weights: [
        {
          file: 'tiny.safetensors',
          bytes: (await readFile(transformerPath)).length,
          sha256: await sha256File(transformerPath),
        },
        { file: 'ae.safetensors', bytes: (await readFile(aePath)).length, sha256: await sha256File(aePath) },
      ],
    });
    expect(body.precision).toEqual({ storage: 'float32' });
    expect(body.graphs.map((g) => [g.name, g.compute])).toEqual([
      ['velocity', 'float32'],
      ['features', 'float32'],
      ['drag_step', 'float32'],
      ['vae_encoder', 'float32'],
      ['vae_decoder', 'float32'],
    ]);
    expect((await inspectBundle(out)).problems).toEqual([]);
    // A stored tensor is its BF16 source widened exactly to float32.
    const entry = body.weight_files[0]!.tensors.find((t) => t.name === 'img_in.weight')!;
    expect(entry).toMatchObject({ dtype: 'float32', shape: [48, 16], length: 48 * 16 * 4 });
    expect(entry.offset % 4096).toBe(0);
    const source = await openSafetensors(transformerPath);
    const sourceBits = new Uint16Array((await source.read('img_in.weight')).buffer);
    await source.close();
    const stored = await readSlice(join(out, 'transformer.weights'), entry.offset, entry.length);
    expect(new Float32Array(stored.buffer)).toEqual(bf16ToF32(sourceBits));

    // Default storage is the checkpoint's own bfloat16: bytes copied as they are, cast in the graphs.
    const bf16Out = join(root, 'ckpt-bundle-bf16');
    const bf16 = await buildCheckpointBundle(
      TINY_SPEC,
      await openCheckpoint(transformerPath),
      await openCheckpoint(aePath),
      bf16Out,
    );
    const bf16Entry = bf16.body.weight_files[0]!.tensors.find((t) => t.name === 'img_in.weight')!;
    const bf16Stored = await readSlice(
      join(bf16Out, 'transformer.weights'),
      bf16Entry.offset,
      bf16Entry.length,
    );
    expect(new Uint16Array(bf16Stored.buffer)).toEqual(sourceBits);
    const loaded = await loadBundle(bf16Out, { graphs: ['vae_decoder'] });
    try {
      const [, z, h, w] = loaded.manifest.graphs.find((g) => g.name === 'vae_decoder')!.inputs[0]!
        .shape as number[];
      const latent = new ort.Tensor('float32', new Float32Array(z! * h! * w!).fill(0.1), [1, z!, h!, w!]);
      const { image } = await loaded.sessions.get('vae_decoder')!.run({ latent });
      expect(image!.dims).toEqual([1, 3, 16, 16]);
      expect((image!.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await loaded.release();
    }
  });

  it('refuses missing or mismatched checkpoints, naming the file, before writing anything', async () => {
    const empty = join(root, 'no-weights');
    await mkdir(empty);
    await expect(buildFromCheckpoints(empty, 'flux1-dev', join(root, 'out-1'))).rejects.toMatchObject({
      code: 'bundle_source_invalid',
      file: 'flux1-dev.safetensors',
    });
    await writeCheckpoint(
      join(empty, 'flux1-schnell.safetensors'),
      [{ name: 'img_in.weight', shape: [2, 2] }],
      1,
    );
    await writeCheckpoint(join(empty, 'ae.safetensors'), [{ name: 'encoder.conv_in.weight', shape: [1] }], 1);
    const error = await buildFromCheckpoints(empty, 'flux1-schnell', join(root, 'out-2')).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'bundle_source_invalid', file: 'flux1-schnell.safetensors' });
    expect((error as Error).message).toMatch(
      /^flux1-schnell\.safetensors: its header does not match the model:\nmissing \(775\): /,
    );
    expect((error as Error).message).toContain('img_in.weight [2,2] (expected [3072,64])');
    await expect(readFile(join(root, 'out-2', 'manifest.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('sha256File', () => {
  it('matches a one-shot hash', async () => {
    const path = join(root, 'h.bin');
    const bytes = new Uint8Array(5_000_000).map((_, i) => i % 251);
    await writeFile(path, bytes);
    expect(await sha256File(path)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
