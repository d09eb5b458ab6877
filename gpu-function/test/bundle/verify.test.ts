import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleError } from '../../src/bundle/errors.ts';
import { parseManifest, sealManifest } from '../../src/bundle/manifest.ts';
import { inspectBundle, verifyBundle } from '../../src/bundle/verify.ts';
import { FAKE_BUNDLE_FILES, writeFakeBundle } from './fake-bundle.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-verify-'));
  await writeFakeBundle(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function flipByte(path: string, offset: number, mask: number): Promise<void> {
  const bytes = await readFile(join(dir, path));
  bytes[offset] = bytes[offset]! ^ mask;
  await writeFile(join(dir, path), bytes);
}

describe('verifyBundle', () => {
  it('accepts an intact bundle and hashes every listed byte', async () => {
    const report = await inspectBundle(dir);
    expect(report.problems).toEqual([]);
    expect(report.manifest?.model).toBe('tiny');
    expect(report.bytesHashed).toBe(3000 + 1500 + 70_000 + 1);
    expect((await verifyBundle(dir)).graphs.map((g) => g.name)).toEqual(['velocity', 'vae_decoder']);
    // The folder may be reached through a link (only the files inside it must be plain files).
    await symlink(dir, `${dir}-link`);
    try {
      expect((await inspectBundle(`${dir}-link`)).problems).toEqual([]);
    } finally {
      await rm(`${dir}-link`);
    }
  });

  it.each(Object.keys(FAKE_BUNDLE_FILES))(
    'names %s when one of its bytes is flipped (first, middle, last)',
    async (path) => {
      const size = FAKE_BUNDLE_FILES[path]!;
      for (const offset of new Set([0, Math.floor(size / 2), size - 1])) {
        await flipByte(path, offset, 0x01);
        const report = await inspectBundle(dir);
        expect(report.problems).toHaveLength(1);
        expect(report.problems[0]).toMatchObject({ code: 'bundle_hash_mismatch', file: path });
        await expect(verifyBundle(dir)).rejects.toMatchObject({ code: 'bundle_hash_mismatch', file: path });
        await flipByte(path, offset, 0x01);
        expect((await inspectBundle(dir)).problems).toEqual([]);
      }
    },
  );

  it('names manifest.json for every single-bit flip of every manifest byte', async () => {
    const original = await readFile(join(dir, 'manifest.json'));
    let caught = 0;
    for (let offset = 0; offset < original.length; offset++) {
      for (const mask of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]) {
        const corrupted = Buffer.from(original);
        corrupted[offset] = corrupted[offset]! ^ mask;
        let error: unknown;
        try {
          parseManifest(corrupted);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(BundleError);
        expect((error as BundleError).file).toBe('manifest.json');
        expect(['bundle_hash_mismatch', 'bundle_manifest_invalid']).toContain((error as BundleError).code);
        caught++;
      }
    }
    expect(caught).toBe(original.length * 8);
    await flipByte('manifest.json', Math.floor(original.length / 2), 0x01);
    const report = await inspectBundle(dir);
    expect(report.manifest).toBeNull();
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.file).toBe('manifest.json');
  });

  it('names a missing, a truncated, an unlisted file and a link', async () => {
    await rm(join(dir, 'weights/vae.bin'));
    await writeFile(join(dir, 'vae_decoder.onnx'), randomBytes(1499));
    await writeFile(join(dir, 'weights/extra.bin'), 'x');
    await symlink(join(dir, 'transformer.onnx'), join(dir, 'link.onnx'));
    const { problems } = await inspectBundle(dir);
    expect(problems.map((p) => [p.code, p.file])).toEqual([
      ['bundle_size_mismatch', 'vae_decoder.onnx'],
      ['bundle_missing_file', 'weights/vae.bin'],
      ['bundle_unexpected_file', 'link.onnx'],
      ['bundle_unexpected_file', 'weights/extra.bin'],
    ]);
    expect(problems[0]!.message).toBe(
      'vae_decoder.onnx: 1499 bytes, the manifest says 1500 (truncated or altered)',
    );
  });

  it('checks sizes without hashing when asked', async () => {
    await flipByte('weights/transformer.bin', 5, 0xff);
    const report = await inspectBundle(dir, { depth: 'sizes' });
    expect(report.problems).toEqual([]);
    expect(report.bytesHashed).toBe(0);
  });

  it('refuses a sealed manifest of another format version or family as incompatible', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    delete manifest.manifest_sha256;
    await writeFile(join(dir, 'manifest.json'), sealManifest({ ...manifest, format_version: 3 }));
    await expect(verifyBundle(dir)).rejects.toMatchObject({
      code: 'bundle_incompatible',
      file: 'manifest.json',
      message: 'manifest.json: bundle format_version 3; this dragflow reads format_version 2',
    });
    await writeFile(join(dir, 'manifest.json'), sealManifest({ ...manifest, family: 'sd3' }));
    await expect(verifyBundle(dir)).rejects.toMatchObject({
      code: 'bundle_incompatible',
      message: 'manifest.json: model family "sd3" is not one this dragflow runs (flux1)',
    });
  });

  it('refuses sealed manifests that break the schema, naming the field', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    delete manifest.manifest_sha256;
    const withTransformer = (patch: object) => ({
      ...manifest,
      config: { ...manifest.config, transformer: { ...manifest.config.transformer, ...patch } },
    });
    const [transformerWeights, aeWeights] = manifest.weight_files;
    const withFirstTensor = (patch: object) => ({
      ...manifest,
      weight_files: [
        { ...transformerWeights, tensors: [{ ...transformerWeights.tensors[0], ...patch }] },
        aeWeights,
      ],
    });
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...manifest, files: { ...manifest.files, '../escape.bin': manifest.files['weights/vae.bin'] } },
        'files',
      ],
      [{ ...manifest, notice: undefined }, 'notice'],
      [{ ...manifest, licence: { id: 'x', commercial_use: false } }, 'licence'],
      [{ ...manifest, graphs: [{ ...manifest.graphs[0], file: 'absent.onnx' }] }, 'graphs[0].file'],
      [
        withTransformer({ inChannels: 20 }),
        "config.transformer.inChannels: 20 must be 4 x the autoencoder's 4 latent channels",
      ],
      [withTransformer({ numHeads: 5 }), "config 'tiny': hiddenSize 48 must be divisible by numHeads 5"],
      [withFirstTensor({ length: 65_532 }), '"img_in.weight": length 65532, its dtype and shape need 65536'],
      [withFirstTensor({ offset: 8192 }), '"img_in.weight" ends past the end of "weights/transformer.bin"'],
    ];
    for (const [broken, field] of cases) {
      await writeFile(join(dir, 'manifest.json'), sealManifest(broken));
      const error = await verifyBundle(dir).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'bundle_manifest_invalid', file: 'manifest.json' });
      expect((error as Error).message).toContain(field);
    }
  });

  it('refuses a folder that is not a bundle', async () => {
    await expect(verifyBundle(join(dir, 'nope'))).rejects.toMatchObject({ code: 'bundle_not_found' });
    await rm(join(dir, 'manifest.json'));
    await expect(verifyBundle(dir)).rejects.toMatchObject({
      code: 'bundle_manifest_invalid',
      message: `manifest.json is missing from ${dir}`,
    });
  });
});
