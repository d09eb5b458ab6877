import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { WeightsError } from './errors.ts';

/** Small writes are gathered into one buffer of this size before reaching the disk. */
const COALESCE_BYTES = 4 * 1024 * 1024;
const ZEROS = new Uint8Array(64 * 1024);

export interface SinkResult {
  /** Bytes written (or, for a discarding sink, that would have been written). */
  bytes: number;
  /** Lowercase hex sha256 of those bytes. */
  sha256: string;
}

interface OpenFile {
  path: string;
  partialPath: string;
  handle: FileHandle;
  buffer: Uint8Array;
  buffered: number;
}

/**
 * An append-only byte destination that counts and hashes what passes through it. A file sink writes
 * to `<path>.partial-<pid>` and renames onto `path` only in `finish()`, so a failed write never leaves
 * a plausible-looking but incomplete file behind; `abort()` removes the partial file.
 */
export class ByteSink {
  #position = 0;
  readonly #hash = createHash('sha256');

  /** `undefined` for a sink that only counts and hashes. */
  private constructor(private readonly file: OpenFile | undefined) {}

  /** A sink writing `path`; `null` gives a sink that only counts and hashes. */
  static async open(path: string | null): Promise<ByteSink> {
    if (path === null) return new ByteSink(undefined);
    const partialPath = `${path}.partial-${process.pid}`;
    const handle = await unwritableOnError(path, () => open(partialPath, 'w'));
    return new ByteSink({ path, partialPath, handle, buffer: new Uint8Array(COALESCE_BYTES), buffered: 0 });
  }

  /** Bytes accepted so far (the next write's file offset). */
  get position(): number {
    return this.#position;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#hash.update(bytes);
    this.#position += bytes.byteLength;
    const file = this.file;
    if (!file) return;
    if (file.buffered + bytes.byteLength > file.buffer.byteLength) await flush(file);
    if (bytes.byteLength >= file.buffer.byteLength) await writeFully(file, bytes);
    else {
      file.buffer.set(bytes, file.buffered);
      file.buffered += bytes.byteLength;
    }
  }

  async writeZeros(count: number): Promise<void> {
    for (let left = count; left > 0; left -= ZEROS.byteLength) {
      await this.write(ZEROS.subarray(0, Math.min(left, ZEROS.byteLength)));
    }
  }

  async finish(): Promise<SinkResult> {
    const file = this.file;
    if (file) {
      await flush(file);
      await unwritableOnError(file.path, async () => {
        await file.handle.close();
        await rename(file.partialPath, file.path);
      });
    }
    return { bytes: this.#position, sha256: this.#hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (!this.file) return;
    await this.file.handle.close().catch(() => undefined);
    await rm(this.file.partialPath, { force: true });
  }
}

async function flush(file: OpenFile): Promise<void> {
  if (file.buffered === 0) return;
  await writeFully(file, file.buffer.subarray(0, file.buffered));
  file.buffered = 0;
}

async function writeFully(file: OpenFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.byteLength; ) {
    const { bytesWritten } = await unwritableOnError(file.path, () =>
      file.handle.write(bytes, written, bytes.byteLength - written),
    );
    written += bytesWritten;
  }
}

async function unwritableOnError<T>(path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new WeightsError('file_unwritable', path, undefined, (error as Error).message);
  }
}
