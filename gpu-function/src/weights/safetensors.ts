import { type FileHandle, open } from 'node:fs/promises';
import { ByteSink } from './byte-sink.ts';
import { isSafetensorsDtype, type SafetensorsDtype, safetensorsDtypeBytes } from './dtype.ts';
import { WeightsError } from './errors.ts';
import {
  compareCodeUnits,
  encodeHeader,
  HEADER_LENGTH_BYTES,
  type HeaderEntry,
  parseHeader,
  parseHeaderLength,
  type SafetensorsHeader,
  type TensorInfo,
  tensorByteLength,
} from './safetensors-header.ts';
import { chunksOf, type TensorData } from './tensor-data.ts';

/** read() refuses tensors above this; larger ones go through stream() so they never sit whole in memory. */
export const MAX_READ_BYTES = 256 * 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
/** Upper bound for one streamed chunk (each chunk is one allocation). */
export const MAX_CHUNK_BYTES = 256 * 1024 * 1024;

/** An open, fully validated safetensors file. Reads are positional, so streams may interleave. */
export interface SafetensorsFile {
  readonly path: string;
  readonly header: SafetensorsHeader;
  /** The whole tensor as bytes; for tensors up to MAX_READ_BYTES. */
  read(name: string): Promise<Uint8Array>;
  /** The tensor's bytes in fresh chunks of `chunkBytes` (the last one shorter). */
  stream(name: string, chunkBytes?: number): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Opens `path` and validates it completely before returning: header length, UTF-8 JSON object,
 * metadata, every entry, offsets contiguous from 0 without overlap, and the file size equal to
 * 8 + header + data. Nothing beyond the header is read here.
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new WeightsError('file_unreadable', path, undefined, (error as Error).message);
  }
  try {
    const fileBytes = (await handle.stat()).size;
    const prefix = await readAt(handle, 0, Math.min(HEADER_LENGTH_BYTES, fileBytes), path);
    const headerLength = parseHeaderLength(prefix, fileBytes, path);
    const headerBytes = await readAt(handle, HEADER_LENGTH_BYTES, headerLength, path);
    const header = parseHeader(headerBytes, fileBytes, path);
    return openedFile(path, handle, header);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function openedFile(path: string, handle: FileHandle, header: SafetensorsHeader): SafetensorsFile {
  const info = (name: string): TensorInfo => {
    const found = header.tensors.get(name);
    if (!found) throw new WeightsError('tensor_not_found', path, name, 'no such tensor in the file');
    return found;
  };
  return {
    path,
    header,
    async read(name) {
      const [begin, end] = info(name).dataOffsets;
      if (end - begin > MAX_READ_BYTES) {
        throw new WeightsError(
          'tensor_too_large',
          path,
          name,
          `${end - begin} bytes exceeds read() limit ${MAX_READ_BYTES}; use stream()`,
        );
      }
      return readAt(handle, header.dataStart + begin, end - begin, path, name);
    },
    async *stream(name, chunkBytes = DEFAULT_CHUNK_BYTES) {
      const [begin, end] = info(name).dataOffsets;
      if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
        throw new WeightsError(
          'chunk_size_invalid',
          path,
          name,
          `chunk size ${chunkBytes} not in 1..${MAX_CHUNK_BYTES}`,
        );
      }
      for (let at = begin; at < end; at += chunkBytes) {
        yield await readAt(handle, header.dataStart + at, Math.min(chunkBytes, end - at), path, name);
      }
    },
    close: () => handle.close(),
  };
}

/** Exactly `length` bytes at `position`; a short read means the file changed since it was validated. */
async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
  path: string,
  tensor?: string,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(bytes, filled, length - filled, position + filled));
    } catch (error) {
      throw new WeightsError('file_unreadable', path, tensor, (error as Error).message);
    }
    if (bytesRead === 0) {
      throw new WeightsError(
        'file_changed',
        path,
        tensor,
        `file ended at byte ${position + filled}; it changed since it was opened`,
      );
    }
    filled += bytesRead;
  }
  return bytes;
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Consumed once, in data order. */
  data: TensorData;
}

export interface WriteResult {
  /** Total file size. */
  bytes: number;
  sha256: string;
  /** Tensor names in data order. */
  order: string[];
}

/**
 * Writes a safetensors file, streaming each tensor's data so no tensor needs to be whole in memory.
 * The header comes first, from the declared dtypes and shapes; then each source must yield exactly its
 * tensor's byte count (`data_size_mismatch` otherwise, and no file is left at `path`).
 *
 * Deterministic: data order (and header order) is by element size descending, then name in code-unit
 * order, as the reference implementation sorts, so the caller's order does not matter.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
): Promise<WriteResult> {
  const ordered = validateLayout(path, tensors, metadata);
  const sink = await ByteSink.open(path);
  try {
    await sink.write(encodeHeader(ordered, metadata));
    for (const entry of ordered) await writeTensorData(sink, entry, path);
    const { bytes, sha256 } = await sink.finish();
    return { bytes, sha256, order: ordered.map((entry) => entry.name) };
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

type OrderedEntry = HeaderEntry & { data: TensorData };

function validateLayout(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string>,
): OrderedEntry[] {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new WeightsError('layout_invalid', path, undefined, `metadata '${key}' is not a string`);
    }
  }
  const seen = new Set<string>();
  const entries = tensors.map(({ name, dtype, shape, data }): OrderedEntry => {
    if (typeof name !== 'string' || name === '__metadata__' || seen.has(name)) {
      throw new WeightsError(
        'layout_invalid',
        path,
        String(name),
        'name is reserved, duplicated or not a string',
      );
    }
    seen.add(name);
    if (!isSafetensorsDtype(dtype)) {
      throw new WeightsError(
        'layout_invalid',
        path,
        name,
        `dtype ${JSON.stringify(dtype)} is not a safetensors dtype`,
      );
    }
    const byteLength = Array.isArray(shape) ? tensorByteLength(dtype, shape) : undefined;
    if (byteLength === undefined) {
      throw new WeightsError('layout_invalid', path, name, `shape ${JSON.stringify(shape)} is not valid`);
    }
    return { name, dtype, shape, byteLength, data };
  });
  return entries.sort(
    (a, b) =>
      safetensorsDtypeBytes[b.dtype] - safetensorsDtypeBytes[a.dtype] || compareCodeUnits(a.name, b.name),
  );
}

async function writeTensorData(sink: ByteSink, entry: OrderedEntry, path: string): Promise<void> {
  let received = 0;
  for await (const chunk of chunksOf(entry.data, path, entry.name)) {
    received += chunk.byteLength;
    if (received > entry.byteLength) break;
    await sink.write(chunk);
  }
  if (received !== entry.byteLength) {
    const amount = received > entry.byteLength ? 'more than' : `${received} bytes, not`;
    throw new WeightsError(
      'data_size_mismatch',
      path,
      entry.name,
      `data source gave ${amount} the ${entry.byteLength} bytes of ${entry.dtype}${JSON.stringify(entry.shape)}`,
    );
  }
}
