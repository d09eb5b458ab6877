/**
 * A synthetic FLUX.1-dev checkpoint for the full-size benches: the real key names and shapes (random
 * bf16 transformer, f32 autoencoder, as released), streamed from generators so 24 GB never have to
 * exist as a checkpoint file, and the bundle built from it with flat memory.
 */
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { buildCheckpointBundle, releasedModelSpec } from '../src/bundle/build.ts';
import { type CheckpointSource, generatedCheckpoint } from '../src/bundle/checkpoint-source.ts';
import { randomParameter } from '../src/bundle/random-weights.ts';
import type { WriteResult } from '../src/bundle/write.ts';
import { autoEncoderCheckpointKeys, fluxCheckpointKeys } from '../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, fluxConfigs } from '../src/flux/config.ts';

const SEED = 1;
/** bf16 values per generated chunk (4 MiB). */
const CHUNK_VALUES = 2 * 1024 * 1024;
export const GIB = 1024 ** 3;
/** Room left on the disk beyond a bundle before its weights are really written. */
export const DISK_MARGIN_BYTES = 8 * GIB;

export const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;

/**
 * Random bf16 values fast enough for 12 billion of them: an xorshift32 word gives two values with
 * random sign and mantissa and a fixed exponent, so every value is finite, in +-[2^-7, 2^-6).
 */
function* syntheticBf16(name: string, count: number): Generator<Uint8Array> {
  let state = SEED;
  for (let i = 0; i < name.length; i++) state = Math.imul(state ^ name.charCodeAt(i), 0x01000193) | 1;
  let left = count;
  while (left > 0) {
    const values = Math.min(left, CHUNK_VALUES);
    const words = new Uint32Array(Math.ceil(values / 2));
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      words[i] = (state & 0x807f807f) | 0x3c003c00;
    }
    left -= values;
    yield new Uint8Array(words.buffer, 0, values * 2);
  }
}

export interface SyntheticCheckpoints {
  transformer: CheckpointSource;
  autoencoder: CheckpointSource;
  /** Bytes of both checkpoints as released (bf16 transformer, f32 autoencoder). */
  checkpointBytes: number;
  /** Bytes of the bundle's weights stored as bf16 (the transformer as is, the autoencoder halved). */
  bundleBytes: number;
}

export function syntheticCheckpoints(): SyntheticCheckpoints {
  const transformer = generatedCheckpoint(
    'flux1-dev.safetensors',
    fluxCheckpointKeys(fluxConfigs['flux1-dev']),
    'BF16',
    (t) => syntheticBf16(t.name, t.bytes / 2),
  );
  const autoencoder = generatedCheckpoint(
    'ae.safetensors',
    autoEncoderCheckpointKeys(autoEncoderConfigs['flux1-ae']),
    'F32',
    (t) => randomParameter(SEED, t.name, t.shape, 'F32'),
  );
  const checkpointBytes = [...transformer.tensors, ...autoencoder.tensors].reduce(
    (sum, t) => sum + t.bytes,
    0,
  );
  const bundleBytes = checkpointBytes - autoencoder.tensors.reduce((sum, t) => sum + t.bytes / 2, 0);
  return { transformer, autoencoder, checkpointBytes, bundleBytes };
}

/** Builds the synthetic FLUX.1-dev bundle (bf16 storage) into `out`. */
export function buildSyntheticBundle(
  checkpoints: SyntheticCheckpoints,
  out: string,
  options: { discardWeights?: boolean; onTensor?: (file: string, name: string, bytes: number) => void } = {},
): Promise<WriteResult> {
  return buildCheckpointBundle(
    releasedModelSpec('flux1-dev'),
    checkpoints.transformer,
    checkpoints.autoencoder,
    out,
    {
      storage: 'bfloat16',
      ...options,
    },
  );
}

export async function freeBytes(dir: string): Promise<number> {
  return statfs(dir).then((s) => s.bavail * s.bsize);
}

/** This process's peak resident memory (VmHWM). */
export function peakResidentBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
