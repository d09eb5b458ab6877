/**
 * `bundle build --from` on the FLUX.1 repository layout, at tiny size: text_encoder/ (one file,
 * with the int64 position ids older checkpoints keep), text_encoder_2/ (two shards and their
 * index), tokenizer/ and tokenizer_2/ become the bundle's encoders, with their licences.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCheckpointBundle, RANDOM_CONFIGS, TINY_GRID } from '../../src/bundle/build.ts';
import { generatedCheckpoint, openCheckpointFolder } from '../../src/bundle/checkpoint-source.ts';
import { loadBundle } from '../../src/bundle/load.ts';
import { randomParameter } from '../../src/bundle/random-weights.ts';
import { TEXT_ENCODER_LICENCES } from '../../src/bundle/text-encoders.ts';
import {
  autoEncoderCheckpointKeys,
  fluxCheckpointKeys,
  type ParamSpec,
} from '../../src/flux/checkpoint-keys.ts';
import { clipTextCheckpointKeys, t5EncoderCheckpointKeys } from '../../src/text/checkpoint-keys.ts';
import { writeSafetensors } from '../../src/weights/safetensors.ts';

const FIXTURES = new URL('../text/fixtures/', import.meta.url).pathname;
const { transformer, autoencoder, t5, clip } = RANDOM_CONFIGS.tiny;
let root: string;

function f32(spec: ParamSpec): Uint8Array {
  return new Uint8Array(Buffer.concat([...randomParameter(3, spec.name, spec.shape, 'F32')]));
}

async function write(
  path: string,
  specs: readonly ParamSpec[],
  extra: Parameters<typeof writeSafetensors>[1] = [],
) {
  await writeSafetensors(path, [
    ...specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape, data: f32(s) })),
    ...extra,
  ]);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flux-layout-'));
  const repo = join(root, 'repo');
  await mkdir(join(repo, 'text_encoder'), { recursive: true });
  await mkdir(join(repo, 'text_encoder_2'), { recursive: true });
  await write(join(repo, 'text_encoder', 'model.safetensors'), clipTextCheckpointKeys(clip), [
    {
      name: 'text_model.embeddings.position_ids',
      dtype: 'I64',
      shape: [1, 77],
      data: new Uint8Array(BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i)).buffer),
    },
  ]);
  const t5Keys = t5EncoderCheckpointKeys(t5);
  const half = Math.ceil(t5Keys.length / 2);
  const shards = [t5Keys.slice(0, half), t5Keys.slice(half)];
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < 2; i++) {
    await write(join(repo, 'text_encoder_2', names[i]!), shards[i]!);
    for (const spec of shards[i]!) weightMap[spec.name] = names[i]!;
  }
  await writeFile(
    join(repo, 'text_encoder_2', 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bundle from the FLUX.1 repository layout', () => {
  it('reads the sharded T5 and the CLIP file and builds a bundle whose encoders run', async () => {
    const repo = join(root, 'repo');
    const t5Source = await openCheckpointFolder(join(repo, 'text_encoder_2'), 'text_encoder_2');
    const clipSource = await openCheckpointFolder(join(repo, 'text_encoder'), 'text_encoder', {
      skip: ['text_model.embeddings.position_ids'],
    });
    expect(t5Source.tensors.map((t) => t.name).sort()).toEqual(
      t5EncoderCheckpointKeys(t5)
        .map((s) => s.name)
        .sort(),
    );
    const random = (file: string, specs: readonly ParamSpec[]) =>
      generatedCheckpoint(file, specs, 'F32', (t) => randomParameter(1, t.name, t.shape, 'F32'));
    const out = join(root, 'bundle');
    const { body } = await buildCheckpointBundle(
      { model: 'tiny', transformer, autoencoder, grid: TINY_GRID, licence: TEXT_ENCODER_LICENCES.t5 },
      random('flux', fluxCheckpointKeys(transformer)),
      random('ae', autoEncoderCheckpointKeys(autoencoder)),
      out,
      {
        storage: 'bfloat16',
        text: {
          spec: {
            t5,
            clip,
            t5Tokens: TINY_GRID.textTokens,
            tokenizerRoot: FIXTURES,
            licences: TEXT_ENCODER_LICENCES,
          },
          t5: t5Source,
          clip: clipSource,
        },
      },
    );
    expect(body.source.kind === 'checkpoint' && body.source.weights.map((w) => w.file)).toEqual([
      'flux',
      'ae',
      'text_encoder_2/model-00001-of-00002.safetensors',
      'text_encoder_2/model-00002-of-00002.safetensors',
      'text_encoder/model.safetensors',
    ]);
    expect(body.text_encoders?.t5.licence.id).toBe('Apache-2.0');
    expect(body.text_encoders?.clip.licence.id).toBe('MIT');
    expect(body.files['tokenizer_2/spiece.model']?.bytes).toBeGreaterThan(0);
    const bundle = await loadBundle(out, { graphs: ['t5_encoder', 'clip_text'] });
    expect([...bundle.sessions.keys()]).toEqual(['t5_encoder', 'clip_text']);
    await bundle.release();
  });

  it('names a shard that disagrees with the index', async () => {
    const dir = join(root, 'repo', 'text_encoder_2');
    const index = join(dir, 'model.safetensors.index.json');
    const bad = { weight_map: { 'shared.weight': 'model-00002-of-00002.safetensors' } };
    await writeFile(join(root, 'index.json'), JSON.stringify(bad));
    await writeFile(index, JSON.stringify(bad));
    await expect(openCheckpointFolder(dir, 'text_encoder_2')).rejects.toThrow(
      /index_invalid|is in model-0000/,
    );
  });
});
