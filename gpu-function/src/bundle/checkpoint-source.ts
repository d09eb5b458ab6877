import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FloatDtype } from '../weights/dtype.ts';
import { isFloatDtype, safetensorsDtypeBytes } from '../weights/dtype.ts';
import { WeightsError } from '../weights/errors.ts';
import { openSafetensors } from '../weights/safetensors.ts';
import { encodeHeader } from '../weights/safetensors-header.ts';
import { sha256File } from './verify.ts';

export interface SourceTensor {
  readonly name: string;
  readonly dtype: FloatDtype;
  readonly shape: readonly number[];
  readonly bytes: number;
}

/**
 * A checkpoint read once, front to back: the bundle builder streams every tensor in data order and
 * the source hashes what passes, so the checkpoint's sha256 costs no second read of 24 GB.
 */
export interface CheckpointSource {
  /** The file name recorded in the manifest, e.g. "flux1-dev.safetensors". */
  readonly file: string;
  /** In data order. */
  readonly tensors: readonly SourceTensor[];
  /** The next tensor's bytes; tensors must be taken in data order, each once. */
  chunks(name: string): AsyncIterable<Uint8Array>;
  /** Size and sha256 of the whole checkpoint file; valid once every tensor has been streamed. */
  digest(): { bytes: number; sha256: string };
  /** Each source file's name, size and sha256 (one file, or every shard of a sharded checkpoint). */
  digests(): Promise<{ file: string; bytes: number; sha256: string }[]>;
  close(): Promise<void>;
}

type ChunkSource = (tensor: SourceTensor) => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Hashes the header, then each tensor's chunks as the builder pulls them, checking the order. */
function sequentialSource(
  file: string,
  headerBytes: Uint8Array,
  tensors: readonly SourceTensor[],
  chunksOf: ChunkSource,
  close: () => Promise<void>,
): CheckpointSource {
  const hash = createHash('sha256').update(headerBytes);
  let hashedBytes = headerBytes.byteLength;
  let next = 0;
  return {
    file,
    tensors,
    async *chunks(name) {
      const tensor = tensors[next];
      if (tensor?.name !== name) {
        throw new Error(`${file}: tensor '${name}' requested out of data order (expected '${tensor?.name}')`);
      }
      next++;
      let streamed = 0;
      for await (const chunk of chunksOf(tensor)) {
        hash.update(chunk);
        streamed += chunk.byteLength;
        yield chunk;
      }
      hashedBytes += streamed;
      if (streamed !== tensor.bytes) {
        throw new WeightsError(
          'data_size_mismatch',
          file,
          name,
          `streamed ${streamed} bytes, expected ${tensor.bytes}`,
        );
      }
    },
    digest() {
      if (next !== tensors.length) {
        throw new Error(`${file}: digest asked after ${next} of ${tensors.length} tensors were streamed`);
      }
      return { bytes: hashedBytes, sha256: hash.copy().digest('hex') };
    },
    async digests() {
      return [{ file, ...this.digest() }];
    },
    close,
  };
}

export interface OpenCheckpointOptions {
  /** The name recorded in the manifest (default: the file's base name). */
  file?: string;
  /** Tensors that may be present and are skipped (non-weight buffers such as CLIP's position ids). */
  skip?: readonly string[];
}

/** A safetensors checkpoint on disk (validated completely by the weights reader before any data is read). */
export async function openCheckpoint(
  path: string,
  options: OpenCheckpointOptions = {},
): Promise<CheckpointSource> {
  const file = await openSafetensors(path);
  const { header } = file;
  const tensors: SourceTensor[] = [];
  let skipped = 0;
  for (const [name, info] of header.tensors) {
    if (options.skip?.includes(name)) {
      skipped++;
      continue;
    }
    if (!isFloatDtype(info.dtype)) {
      await file.close();
      throw new WeightsError(
        'dtype_not_convertible',
        path,
        name,
        `${info.dtype}; bundle weights are F32, F16 or BF16`,
      );
    }
    tensors.push({
      name,
      dtype: info.dtype,
      shape: info.shape,
      bytes: info.dataOffsets[1] - info.dataOffsets[0],
    });
  }
  const handle = await open(path, 'r');
  const headerBytes = new Uint8Array(header.dataStart);
  try {
    await handle.read(headerBytes, 0, header.dataStart, 0);
  } finally {
    await handle.close();
  }
  const source = sequentialSource(
    options.file ?? basename(path),
    headerBytes,
    tensors,
    (t) => file.stream(t.name),
    () => file.close(),
  );
  if (skipped === 0) return source;
  // Skipped bytes never pass through the stream: the file is hashed on its own (small files only).
  return {
    ...source,
    digest: () => {
      throw new Error(`${source.file}: has skipped tensors; use digests()`);
    },
    digests: async () => [
      { file: source.file, bytes: (await stat(path)).size, sha256: await sha256File(path) },
    ],
  };
}

/**
 * A Hugging Face checkpoint folder: `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (its weight_map must name exactly the shards' tensors). Shards
 * stream one after another; each is recorded with its own sha256.
 */
export async function openCheckpointFolder(
  dir: string,
  label: string,
  options: Pick<OpenCheckpointOptions, 'skip'> = {},
): Promise<CheckpointSource> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (!(await stat(indexPath).catch(() => null))?.isFile()) {
    return openCheckpoint(join(dir, 'model.safetensors'), { ...options, file: `${label}/model.safetensors` });
  }
  let weightMap: Record<string, string>;
  try {
    weightMap = (JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map: Record<string, string> })
      .weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new Error('no weight_map');
  } catch (error) {
    throw new WeightsError(
      'index_invalid',
      indexPath,
      undefined,
      `not a safetensors index (${(error as Error).message})`,
    );
  }
  const shardNames = [...new Set(Object.values(weightMap))].sort();
  const shards: CheckpointSource[] = [];
  try {
    for (const shard of shardNames) {
      if (!/^[A-Za-z0-9_.-]+$/.test(shard)) {
        throw new WeightsError(
          'index_invalid',
          indexPath,
          undefined,
          `shard name ${JSON.stringify(shard)} is not a plain file name`,
        );
      }
      const source = await openCheckpoint(join(dir, shard), { ...options, file: `${label}/${shard}` });
      shards.push(source);
      for (const t of source.tensors) {
        if (weightMap[t.name] !== shard) {
          throw new WeightsError(
            'index_invalid',
            indexPath,
            t.name,
            `is in ${shard}, the index says ${weightMap[t.name] ?? 'nothing'}`,
          );
        }
      }
    }
    const present = new Set(shards.flatMap((s) => s.tensors.map((t) => t.name)));
    const absent = Object.keys(weightMap).filter(
      (name) => !present.has(name) && !options.skip?.includes(name),
    );
    if (absent.length > 0) {
      throw new WeightsError(
        'index_invalid',
        indexPath,
        absent[0],
        `the index lists ${absent.length} tensor(s) no shard holds`,
      );
    }
  } catch (error) {
    for (const shard of shards) await shard.close();
    throw error;
  }
  const owner = new Map(shards.flatMap((s) => s.tensors.map((t) => [t.name, s] as const)));
  return {
    file: `${label}/model.safetensors.index.json`,
    tensors: shards.flatMap((s) => s.tensors),
    chunks: (name) => owner.get(name)!.chunks(name),
    digest: () => {
      throw new Error(`${label}: a sharded checkpoint has one digest per shard; use digests()`);
    },
    digests: async () => (await Promise.all(shards.map((s) => s.digests()))).flat(),
    close: async () => {
      for (const shard of shards) await shard.close();
    },
  };
}

/**
 * A checkpoint that exists only as a generator: the header is what writing it as safetensors would
 * produce, so `digest()` equals the sha256 of that file had it been written (tensors in the given order).
 */
export function generatedCheckpoint(
  file: string,
  specs: readonly { name: string; shape: readonly number[] }[],
  dtype: FloatDtype,
  fill: ChunkSource,
): CheckpointSource {
  const tensors = specs.map((spec) => ({
    name: spec.name,
    dtype,
    shape: spec.shape,
    bytes: spec.shape.reduce((a, b) => a * b, 1) * safetensorsDtypeBytes[dtype],
  }));
  const header = encodeHeader(
    tensors.map((t) => ({ name: t.name, dtype, shape: t.shape, byteLength: t.bytes })),
    {},
  );
  return sequentialSource(file, header, tensors, fill, async () => undefined);
}
