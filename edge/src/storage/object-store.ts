/**
 * The one storage interface of the edge: put, get (optionally a byte range), head, delete, and
 * expiring signed URLs for GET and PUT, so a client or the GPU function moves bytes without
 * holding storage keys. Implementations: S3-compatible (s3-store.ts, SigV4 via aws4fetch) and
 * the Workers R2 binding (r2-store.ts, with URLs the edge signs and serves itself).
 */

export interface ObjectInfo {
  readonly size: number;
  readonly contentType: string | undefined;
}

export interface StoredObject extends ObjectInfo {
  readonly body: ReadableStream<Uint8Array>;
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface ObjectStore {
  /** Stores bytes; a stream needs its exact length. */
  put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions): Promise<void>;
  /** The object (or the bytes of `range` in it), or null when there is none. */
  get(key: string, range?: ByteRange): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  delete(key: string): Promise<void>;
  /** A URL anyone holding it may GET for `ttlS` seconds. */
  signedGetUrl(key: string, ttlS: number): Promise<string>;
  /** A URL anyone holding it may PUT bytes to for `ttlS` seconds. */
  signedPutUrl(key: string, ttlS: number): Promise<string>;
}

export interface PutOptions {
  readonly contentType: string;
  readonly length: number;
}

/** A storage request that failed; `code` is the store's own error code when it gave one. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Reads a whole object into memory (callers bound sizes before). */
export async function readAll(object: StoredObject): Promise<Uint8Array> {
  return new Uint8Array(await new Response(object.body).arrayBuffer());
}
