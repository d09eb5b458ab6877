/**
 * Errors raised while reading or writing reference-format samples (ReD Bench, DragBench).
 * The code is stable and machine-readable; the message says what, where and why.
 */
export type SampleErrorCode =
  /** A required file is missing, unreadable or over its size limit. */
  | 'sample_unreadable'
  /** A pickle is well formed but uses an opcode, global or value shape this reader does not accept. */
  | 'pickle_unsupported'
  /** A pickle is truncated or structurally broken (stack underflow, bad UTF-8, trailing bytes...). */
  | 'pickle_malformed'
  /** The files parse but their content breaks the format's rules (shapes, counts, ranges, names). */
  | 'sample_invalid';

/** Where in a file the problem is: a byte offset (binary files) or a path inside the document (JSON path, dict key). */
export interface SampleErrorLocation {
  file?: string;
  offset?: number;
  path?: string;
}

export class SampleFormatError extends Error {
  override readonly name = 'SampleFormatError';
  readonly code: SampleErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly path: string | undefined;

  constructor(code: SampleErrorCode, reason: string, location: SampleErrorLocation = {}) {
    super(`${code}: ${describeLocation(location)}${reason}`);
    this.code = code;
    this.file = location.file;
    this.offset = location.offset;
    this.path = location.path;
  }
}

function describeLocation({ file, offset, path }: SampleErrorLocation): string {
  const parts: string[] = [];
  if (file !== undefined) parts.push(file);
  if (offset !== undefined) parts.push(`byte ${offset}`);
  if (path !== undefined) parts.push(path);
  return parts.length === 0 ? '' : `${parts.join(' at ')}: `;
}
