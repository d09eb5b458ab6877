import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';

/** Small writes are gathered into one buffer of this size before reaching the disk. */
const COALESCE_BYTES = 4 * 1024 * 1024;
const ZEROS = new Uint8Array(64 * 1024);

export interface SinkResult {
  /** Bytes written (or, for a discarding sink, that would have been written). */
  bytes: number;
  /** Lowercase hex sha256 of those bytes. */
  sha256: string;
}

/**
 * An append-only byte destination that counts and hashes what passes through it. A file sink writes
 * to `<path>.partial-<pid>` and renames onto `path` only in `finish()`, so a failed write never leaves
 * a plausible-looking but incomplete file behind; `abort()` removes the partial file.
 */
export class ByteSink {
  #position = 0;
  #buffered = 0;
  readonly #buffer: Uint8Array | undefined;
  readonly #hash: Hash = createHash('sha256');

  private constructor(
    readonly path: string | null,
    readonly partialPath: string | null,
    private readonly handle: FileHandle | null,
  ) {
    this.#buffer = handle ? new Uint8Array(COALESCE_BYTES) : undefined;
  }

  /** A sink writing `path`; `null` gives a sink that only counts and hashes. */
  static async open(path: string | null): Promise<ByteSink> {
    if (path === null) return new ByteSink(null, null, null);
    const partialPath = `${path}.partial-${process.pid}`;
    return new ByteSink(path, partialPath, await open(partialPath, 'w'));
  }

  /** Bytes accepted so far (the next write's file offset). */
  get position(): number {
    return this.#position;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#hash.update(bytes);
    this.#position += bytes.byteLength;
    if (!this.handle || !this.#buffer) return;
    if (this.#buffered + bytes.byteLength <= this.#buffer.byteLength) {
      this.#buffer.set(bytes, this.#buffered);
      this.#buffered += bytes.byteLength;
      return;
    }
    await this.#flush();
    if (bytes.byteLength >= this.#buffer.byteLength) await writeFully(this.handle, bytes);
    else {
      this.#buffer.set(bytes);
      this.#buffered = bytes.byteLength;
    }
  }

  async writeZeros(count: number): Promise<void> {
    for (let left = count; left > 0; left -= ZEROS.byteLength) {
      await this.write(ZEROS.subarray(0, Math.min(left, ZEROS.byteLength)));
    }
  }

  async finish(): Promise<SinkResult> {
    if (this.handle && this.partialPath && this.path) {
      await this.#flush();
      await this.handle.close();
      await rename(this.partialPath, this.path);
    }
    return { bytes: this.#position, sha256: this.#hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (!this.handle || !this.partialPath) return;
    await this.handle.close().catch(() => undefined);
    await rm(this.partialPath, { force: true });
  }

  async #flush(): Promise<void> {
    if (!this.handle || !this.#buffer || this.#buffered === 0) return;
    await writeFully(this.handle, this.#buffer.subarray(0, this.#buffered));
    this.#buffered = 0;
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
    written += bytesWritten;
  }
}
