import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FloatDtype } from '../weights/dtype.ts';
import { isFloatDtype, safetensorsDtypeBytes } from '../weights/dtype.ts';
import { WeightsError } from '../weights/errors.ts';
import { openSafetensors } from '../weights/safetensors.ts';
import { encodeHeader } from '../weights/safetensors-header.ts';

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
    close,
  };
}

/** A safetensors checkpoint on disk (validated completely by the weights reader before any data is read). */
export async function openCheckpoint(path: string): Promise<CheckpointSource> {
  const file = await openSafetensors(path);
  const { header } = file;
  const tensors: SourceTensor[] = [];
  for (const [name, info] of header.tensors) {
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
  return sequentialSource(
    basename(path),
    headerBytes,
    tensors,
    (t) => file.stream(t.name),
    () => file.close(),
  );
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
