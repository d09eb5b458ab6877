import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRandomBundle } from '../../src/bundle/build.ts';
import { BundleError } from '../../src/bundle/errors.ts';
import { loadBundle } from '../../src/bundle/load.ts';
import { sealManifest } from '../../src/bundle/manifest.ts';

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundle-load-'));
  dir = join(root, 'tiny');
  await buildRandomBundle('tiny', 5, dir);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function editManifest(edit: (manifest: Record<string, unknown>) => void): Promise<() => Promise<void>> {
  const path = join(dir, 'manifest.json');
  const original = await readFile(path);
  const { manifest_sha256: _, ...body } = JSON.parse(original.toString('utf8'));
  edit(body);
  await writeFile(path, sealManifest(body));
  return () => writeFile(path, original);
}

describe('loadBundle', () => {
  it('opens the requested graphs and checks their I/O against the manifest', async () => {
    const bundle = await loadBundle(dir, { graphs: ['velocity', 'vae_decoder'], models: ['tiny'] });
    expect([...bundle.sessions.keys()]).toEqual(['velocity', 'vae_decoder']);
    const velocity = bundle.sessions.get('velocity')!;
    const declared = bundle.manifest.graphs.find((g) => g.name === 'velocity')!;
    expect(velocity.inputNames).toEqual(declared.inputs.map((i) => i.name));
    expect(velocity.outputNames).toEqual(['velocity']);
    await bundle.release();
    expect(bundle.sessions.size).toBe(0);
  });

  it('refuses a corrupted bundle, naming the file', async () => {
    const path = join(dir, 'ae.weights');
    const original = await readFile(path);
    const corrupted = Buffer.from(original);
    corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 0x10;
    await writeFile(path, corrupted);
    try {
      const error = await loadBundle(dir, { graphs: ['velocity'] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BundleError);
      expect(error).toMatchObject({ code: 'bundle_hash_mismatch', file: 'ae.weights' });
      expect((error as Error).message).toMatch(
        /^ae\.weights: sha256 [0-9a-f]{64} differs from the manifest's/,
      );
    } finally {
      await writeFile(path, original);
    }
  });

  it('refuses an unknown graph, another model, and a non-commercial licence when commercial use is required', async () => {
    await expect(loadBundle(dir, { graphs: ['decoder'] })).rejects.toMatchObject({
      code: 'bundle_graph_unknown',
      message:
        'bundle has no graph "decoder" (it has: velocity, features, drag_step, vae_encoder, vae_decoder)',
    });
    await expect(
      loadBundle(dir, { graphs: ['velocity'], models: ['flux1-dev', 'flux1-schnell'] }),
    ).rejects.toMatchObject({
      code: 'bundle_incompatible',
      message: 'bundle holds model "tiny"; this caller runs "flux1-dev", "flux1-schnell"',
    });
    const restore = await editManifest((m) => {
      m.licence = {
        id: 'FLUX.1-dev-Non-Commercial',
        commercial_use: false,
        url: 'https://example.com/licence',
      };
    });
    try {
      await expect(
        loadBundle(dir, { graphs: ['velocity'], requireCommercialUse: true }),
      ).rejects.toMatchObject({
        code: 'bundle_licence_forbids',
        message:
          'bundle licence "FLUX.1-dev-Non-Commercial" does not allow commercial use, which this caller requires',
      });
      const allowed = await loadBundle(dir, { graphs: ['velocity'] });
      await allowed.release();
    } finally {
      await restore();
    }
  });

  it('refuses a graph whose real inputs differ from the manifest', async () => {
    const restore = await editManifest((m) => {
      const graphs = m.graphs as { name: string; inputs: { name: string; shape: (number | string)[] }[] }[];
      const decoder = graphs.find((g) => g.name === 'vae_decoder')!;
      decoder.inputs[0]!.shape = [1, 4, 9, 8];
    });
    try {
      const error = await loadBundle(dir, { graphs: ['vae_decoder'] }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'bundle_graph_mismatch', file: 'vae_decoder.onnx' });
      expect((error as Error).message).toBe(
        'vae_decoder.onnx (graph "vae_decoder"): input is latent: float32[1, 4, 8, 8], the manifest says latent: float32[1, 4, 9, 8]',
      );
    } finally {
      await restore();
    }
  });
});
