import { basename, isAbsolute } from 'node:path';
import type { ExternalRef } from '../graph/graph.ts';
import { ByteSink, type SinkResult } from './byte-sink.ts';
import { convertChunks, type SafetensorsDtype } from './dtype.ts';
import { WeightsError } from './errors.ts';
import { chunksOf, type TensorData } from './tensor-data.ts';

/**
 * Every tensor starts on a multiple of this. 4096 is the page size on Linux, which the ONNX
 * external-data notes recommend so a runtime can map each tensor straight from the file; the cost is
 * under 4 KiB of zero padding per tensor (a few MB over FLUX's ~1000 tensors of ~24 GB).
 */
export const DEFAULT_ALIGNMENT = 4096;

export interface AppendOptions {
  /** Name used in error messages. */
  name?: string;
  /** dtype of the incoming bytes and the dtype to store; both default to no conversion. */
  from?: SafetensorsDtype;
  storeAs?: SafetensorsDtype;
  /** When given, the stored byte count must equal it (`data_size_mismatch` otherwise). */
  expectedBytes?: number;
}

/**
 * Appends tensors to one ONNX external-data file (needed once a model's weights pass protobuf's 2 GB
 * limit), padding each to `alignment`, converting dtypes on the way, and hashing the file as it is
 * written. `ExternalDataWriter.discarding` does all the same bookkeeping without a file, to check a
 * full-size build's offsets and hash where the disk is too small to hold it.
 */
export class ExternalDataWriter {
  /** Set by finish, abort or a failed append: the file's contents are then final or unusable. */
  #closed = false;

  private constructor(
    private readonly sink: ByteSink,
    readonly location: string,
    readonly alignment: number,
  ) {}

  /** Writes `path`; `location` (default: its file name) is what the model records. */
  static async open(
    path: string,
    options: { location?: string; alignment?: number } = {},
  ): Promise<ExternalDataWriter> {
    const location = validLocation(options.location ?? basename(path), path);
    const alignment = validAlignment(options.alignment ?? DEFAULT_ALIGNMENT, path);
    return new ExternalDataWriter(await ByteSink.open(path), location, alignment);
  }

  static async discarding(
    location: string,
    options: { alignment?: number } = {},
  ): Promise<ExternalDataWriter> {
    const alignment = validAlignment(options.alignment ?? DEFAULT_ALIGNMENT, location);
    return new ExternalDataWriter(await ByteSink.open(null), validLocation(location, location), alignment);
  }

  /**
   * Appends one tensor's bytes (whole or chunked at any byte) and returns where they landed. A failure
   * closes the writer (its file would hold a partial tensor): call abort().
   */
  async append(data: TensorData, options: AppendOptions = {}): Promise<ExternalRef> {
    const { name, from, storeAs, expectedBytes } = options;
    if (this.#closed)
      throw new WeightsError('writer_closed', this.location, name, 'append after a failure, finish or abort');
    try {
      const padding = (this.alignment - (this.sink.position % this.alignment)) % this.alignment;
      await this.sink.writeZeros(padding);
      const offset = this.sink.position;
      let chunks = chunksOf(data, this.location, name);
      if (from !== undefined && storeAs !== undefined && from !== storeAs) {
        chunks = convertChunks(chunks, from, storeAs, this.location, name);
      }
      for await (const chunk of chunks) await this.sink.write(chunk);
      const length = this.sink.position - offset;
      if (expectedBytes !== undefined && length !== expectedBytes) {
        throw new WeightsError(
          'data_size_mismatch',
          this.location,
          name,
          `stored ${length} bytes, expected ${expectedBytes}`,
        );
      }
      return { location: this.location, offset, length };
    } catch (error) {
      this.#closed = true;
      throw error;
    }
  }

  /** Completes the file (renamed into place) and returns its size and sha256. */
  async finish(): Promise<SinkResult> {
    if (this.#closed)
      throw new WeightsError(
        'writer_closed',
        this.location,
        undefined,
        'finish after a failure, finish or abort',
      );
    this.#closed = true;
    return this.sink.finish();
  }

  /** Drops the partial file; use after a failed append. */
  async abort(): Promise<void> {
    this.#closed = true;
    await this.sink.abort();
  }
}

/** ONNX resolves `location` against the model's directory; keep it a plain relative path inside it. */
function validLocation(location: string, file: string): string {
  const parts = location.split(/[\\/]/);
  if (
    location === '' ||
    isAbsolute(location) ||
    location.includes('\0') ||
    parts.some((p) => p === '..' || p === '')
  ) {
    throw new WeightsError(
      'location_invalid',
      file,
      undefined,
      `location ${JSON.stringify(location)} is not a relative path`,
    );
  }
  return location;
}

function validAlignment(alignment: number, file: string): number {
  if (
    !Number.isSafeInteger(alignment) ||
    alignment < 1 ||
    (alignment & (alignment - 1)) !== 0 ||
    alignment > 1 << 30
  ) {
    throw new WeightsError(
      'alignment_invalid',
      file,
      undefined,
      `alignment ${alignment} is not a power of two up to 2^30`,
    );
  }
  return alignment;
}
