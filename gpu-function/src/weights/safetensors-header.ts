import { isSafetensorsDtype, type SafetensorsDtype, safetensorsDtypeBytes } from './dtype.ts';
import { WeightsError } from './errors.ts';

/**
 * The safetensors layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * `{"__metadata__"?: {string: string}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}}`,
 * then the data area; offsets are relative to the data area's start.
 */
export const HEADER_LENGTH_BYTES = 8;
/** The same ceiling the reference implementation enforces; FLUX-sized headers are ~100 KB. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const ENTRY_KEYS = ['data_offsets', 'dtype', 'shape'];

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) relative to the start of the data area. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** In data order (ascending offsets). */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** File offset of the data area: 8 + header length. */
  dataStart: number;
  /** Bytes in the data area (the last tensor's end). */
  dataBytes: number;
}

/** Bytes of a tensor of `dtype` and `shape`, or undefined when `shape` is invalid or too large. */
export function tensorByteLength(dtype: SafetensorsDtype, shape: readonly unknown[]): number | undefined {
  let bytes = safetensorsDtypeBytes[dtype];
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) return undefined;
    bytes *= dim;
  }
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Reads the 8-byte prefix; `fileBytes` is the file's real size. Returns the header length N. */
export function parseHeaderLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (fileBytes < HEADER_LENGTH_BYTES || prefix.byteLength < HEADER_LENGTH_BYTES) {
    throw new WeightsError(
      'file_too_small',
      file,
      undefined,
      `${fileBytes} bytes; a safetensors file has at least 8`,
    );
  }
  const declared = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new WeightsError(
      'header_too_large',
      file,
      undefined,
      `header length ${declared} exceeds ${MAX_HEADER_BYTES}`,
    );
  }
  const length = Number(declared);
  if (HEADER_LENGTH_BYTES + length > fileBytes) {
    throw new WeightsError(
      'header_out_of_bounds',
      file,
      undefined,
      `header length ${length} runs past the end of a ${fileBytes}-byte file`,
    );
  }
  return length;
}

/** Parses and validates header bytes against the file's real size (see WeightsErrorCode for each check). */
export function parseHeader(headerBytes: Uint8Array, fileBytes: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new WeightsError('header_not_utf8', file, undefined, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new WeightsError(
      'header_not_json',
      file,
      undefined,
      `header is not JSON (${(error as Error).message})`,
    );
  }
  if (!isPlainObject(json)) {
    throw new WeightsError('header_not_object', file, undefined, 'header JSON is not an object');
  }

  let metadata: Record<string, string> = {};
  const entries: [string, TensorInfo][] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, file);
    else entries.push([name, parseEntry(name, value, file)]);
  }

  entries.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous = '';
  for (const [name, info] of entries) {
    const [begin, end] = info.dataOffsets;
    if (begin < covered) {
      throw new WeightsError(
        'offsets_overlap',
        file,
        name,
        `bytes [${begin}, ${end}) overlap tensor '${previous}'`,
      );
    }
    if (begin > covered) {
      throw new WeightsError(
        'offsets_gap',
        file,
        name,
        `data bytes [${covered}, ${begin}) belong to no tensor`,
      );
    }
    covered = end;
    previous = name;
  }

  const dataStart = HEADER_LENGTH_BYTES + headerBytes.byteLength;
  const expected = dataStart + covered;
  if (fileBytes < expected) {
    throw new WeightsError(
      'file_truncated',
      file,
      undefined,
      `header describes ${expected} bytes but the file has ${fileBytes}`,
    );
  }
  if (fileBytes > expected) {
    throw new WeightsError(
      'file_trailing_bytes',
      file,
      undefined,
      `header describes ${expected} bytes but the file has ${fileBytes}`,
    );
  }
  return { tensors: new Map(entries), metadata, dataStart, dataBytes: covered };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new WeightsError('metadata_invalid', file, undefined, '__metadata__ is not an object');
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new WeightsError(
        'metadata_invalid',
        file,
        undefined,
        `__metadata__ value of '${key}' is not a string`,
      );
    }
  }
  return value as Record<string, string>;
}

function parseEntry(name: string, value: unknown, file: string): TensorInfo {
  if (!isPlainObject(value)) {
    throw new WeightsError('tensor_entry_invalid', file, name, 'entry is not an object');
  }
  const keys = Object.keys(value).sort();
  if (keys.length !== ENTRY_KEYS.length || keys.some((key, i) => key !== ENTRY_KEYS[i])) {
    throw new WeightsError(
      'tensor_entry_invalid',
      file,
      name,
      `entry keys are [${keys.join(', ')}]; expected exactly [${ENTRY_KEYS.join(', ')}]`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isSafetensorsDtype(dtype)) {
    throw new WeightsError(
      'dtype_unknown',
      file,
      name,
      `dtype ${JSON.stringify(dtype)} is not a known safetensors dtype`,
    );
  }
  const byteLength = Array.isArray(shape) ? tensorByteLength(dtype, shape) : undefined;
  if (byteLength === undefined) {
    throw new WeightsError(
      'shape_invalid',
      file,
      name,
      `shape ${JSON.stringify(shape)} is not a list of non-negative integers with a safe byte size`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new WeightsError(
      'offsets_invalid',
      file,
      name,
      `data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== byteLength) {
    throw new WeightsError(
      'byte_length_mismatch',
      file,
      name,
      `data_offsets span ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${byteLength}`,
    );
  }
  return { dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  byteLength: number;
}

/**
 * Header bytes for tensors already in data order, contiguous from offset 0. Key order: `__metadata__`
 * first (its keys sorted, omitted when empty), then tensors in data order with keys dtype, shape,
 * data_offsets, as the reference writer emits them. Padded with spaces so the data area starts on an
 * 8-byte boundary.
 */
export function encodeHeader(entries: readonly HeaderEntry[], metadata: Record<string, string>): Uint8Array {
  // Built by hand: a JS object would move integer-like names ("0", "12") first and treat
  // "__proto__" specially, and both would change the header's byte order.
  const members: string[] = [];
  const metadataKeys = Object.keys(metadata).sort(compareCodeUnits);
  if (metadataKeys.length > 0) {
    const pairs = metadataKeys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`);
    members.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`);
  }
  let offset = 0;
  for (const { name, dtype, shape, byteLength } of entries) {
    const entry = { dtype, shape, data_offsets: [offset, offset + byteLength] };
    members.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    offset += byteLength;
  }
  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(HEADER_LENGTH_BYTES + padded).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, HEADER_LENGTH_BYTES);
  return bytes;
}

/** Plain UTF-16 code-unit order: locale-independent, so output is identical on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
