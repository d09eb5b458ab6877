/**
 * A bundle folder with random file contents and a valid, sealed manifest listing them: enough for
 * the verifier and the downloader, which check bytes and never open the graphs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelConfig, TINY_GRID } from '../../src/bundle/build.ts';
import { type ManifestBody, serializeManifest } from '../../src/bundle/manifest.ts';
import { sha256File } from '../../src/bundle/verify.ts';
import { autoEncoderConfigs, fluxConfigs } from '../../src/flux/config.ts';

export const FAKE_BUNDLE_FILES: Record<string, number> = {
  'transformer.onnx': 3000,
  'vae_decoder.onnx': 1500,
  'weights/transformer.bin': 70_000,
  'weights/vae.bin': 1,
};

export function fakeManifestBody(files: ManifestBody['files']): ManifestBody {
  const io = [{ name: 'x', dtype: 'float32' as const, shape: [1, 'tokens', 16] }];
  return {
    format_version: 2,
    family: 'flux1',
    model: 'tiny',
    config: modelConfig(fluxConfigs.tiny, autoEncoderConfigs['tiny-ae'], TINY_GRID),
    precision: { storage: 'float32' },
    graphs: [
      {
        name: 'velocity',
        file: 'transformer.onnx',
        inputs: io,
        outputs: io,
        weight_files: ['weights/transformer.bin'],
        compute: 'float32',
      },
      {
        name: 'vae_decoder',
        file: 'vae_decoder.onnx',
        inputs: io,
        outputs: io,
        weight_files: ['weights/vae.bin'],
        compute: 'float32',
      },
    ],
    weight_files: [
      {
        path: 'weights/transformer.bin',
        bytes: FAKE_BUNDLE_FILES['weights/transformer.bin']!,
        tensors: [
          { name: 'img_in.weight', dtype: 'float32', shape: [16, 1024], offset: 4096, length: 65_536 },
        ],
      },
      { path: 'weights/vae.bin', bytes: FAKE_BUNDLE_FILES['weights/vae.bin']!, tensors: [] },
    ],
    licence: { id: 'Apache-2.0', commercial_use: true, url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    source: { kind: 'random', generator: 'test', seed: 7 },
    generative_prior: false,
    notice: 'Random weights for tests: this bundle has no generative prior.',
    files,
  };
}

/** Writes the fake bundle into the (existing, empty) folder `dir`. */
export async function writeFakeBundle(dir: string): Promise<void> {
  const files: ManifestBody['files'] = {};
  for (const [path, bytes] of Object.entries(FAKE_BUNDLE_FILES)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), randomBytes(bytes));
    files[path] = { sha256: await sha256File(join(dir, path)), bytes };
  }
  await writeFile(join(dir, 'manifest.json'), serializeManifest(fakeManifestBody(files)));
}
