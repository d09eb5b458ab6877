/**
 * The Workers R2 binding behind the storage interface: the zero-setup local default (Miniflare
 * simulates R2 on disk). R2 bindings cannot presign, so signed URLs point at the edge's own
 * `/files/` route (file-urls.ts), which streams to and from the bucket.
 */
import type { FileUrlSigner } from './file-urls.ts';
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions, StoredObject } from './object-store.ts';

export class R2Store implements ObjectStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly urls: FileUrlSigner,
  ) {}

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions): Promise<void> {
    // R2 needs the length of a streamed body up front.
    const value = body instanceof Uint8Array ? body : body.pipeThrough(new FixedLengthStream(options.length));
    await this.bucket.put(key, value, { httpMetadata: { contentType: options.contentType } });
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const object = await this.bucket.get(key, range ? { range } : undefined);
    if (!object) return null;
    return { body: object.body, size: object.size, contentType: object.httpMetadata?.contentType };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const object = await this.bucket.head(key);
    return object ? { size: object.size, contentType: object.httpMetadata?.contentType } : null;
  }

  async delete(key: string): Promise<void> {
    await this.bucket.delete(key);
  }

  signedGetUrl(key: string, ttlS: number): Promise<string> {
    return this.urls.sign('GET', key, ttlS);
  }

  signedPutUrl(key: string, ttlS: number): Promise<string> {
    return this.urls.sign('PUT', key, ttlS);
  }
}
