/**
 * S3-compatible storage through aws4fetch (SigV4 headers and presigned query strings over the
 * runtime's fetch). Path-style URLs (`endpoint/bucket/key`), which S3, R2's S3 API, radosgw and
 * MinIO all accept. Errors are read from the XML body with one regular expression: no DOMParser,
 * which workerd lacks (edge/README.md has the measurements behind choosing aws4fetch).
 */
import { AwsClient } from 'aws4fetch';
import type { S3Settings } from '../config.ts';
import {
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  StorageError,
  type StoredObject,
} from './object-store.ts';

/** Each path segment percent-encoded as S3 expects (slashes kept). */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

async function failure(response: Response, what: string): Promise<StorageError> {
  const text = await response.text().catch(() => '');
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  return new StorageError(
    `S3 ${what} answered ${response.status}${code ? ` ${code}` : ''}`,
    response.status,
    code,
  );
}

function infoOf(response: Response): ObjectInfo {
  const range = response.headers.get('content-range');
  const total = range ? Number(range.split('/')[1]) : Number(response.headers.get('content-length'));
  return { size: total, contentType: response.headers.get('content-type') ?? undefined };
}

export class S3Store implements ObjectStore {
  private readonly client: AwsClient;

  constructor(private readonly settings: S3Settings) {
    // No retries inside the client: callers own retry policy (the edit's alarms).
    this.client = new AwsClient({
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      service: 's3',
      region: settings.region,
      retries: 0,
    });
  }

  private url(key: string): string {
    return `${this.settings.endpoint.replace(/\/+$/, '')}/${this.settings.bucket}/${encodeKey(key)}`;
  }

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions): Promise<void> {
    const response = await this.client.fetch(this.url(key), {
      method: 'PUT',
      body,
      headers: { 'content-type': options.contentType, 'content-length': String(options.length) },
    });
    if (!response.ok) throw await failure(response, `PUT ${key}`);
    await response.body?.cancel();
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const headers: Record<string, string> = range
      ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` }
      : {};
    const response = await this.client.fetch(this.url(key), { method: 'GET', headers });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    // 416: a range past the end of an object (e.g. an empty one): nothing to read.
    if (response.status === 416)
      return { ...(await this.requireHead(key)), body: new Response(new Uint8Array()).body! };
    if (!response.ok || !response.body) throw await failure(response, `GET ${key}`);
    return { ...infoOf(response), body: response.body };
  }

  private async requireHead(key: string): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (!info) throw new StorageError(`S3 object ${key} vanished`, 404, 'NoSuchKey');
    return info;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const response = await this.client.fetch(this.url(key), { method: 'HEAD' });
    if (response.status === 404) return null;
    if (!response.ok)
      throw new StorageError(`S3 HEAD ${key} answered ${response.status}`, response.status, undefined);
    return infoOf(response);
  }

  async delete(key: string): Promise<void> {
    const response = await this.client.fetch(this.url(key), { method: 'DELETE' });
    if (!response.ok && response.status !== 404) throw await failure(response, `DELETE ${key}`);
    await response.body?.cancel();
  }

  private async presign(key: string, method: 'GET' | 'PUT', ttlS: number): Promise<string> {
    const url = new URL(this.url(key));
    url.searchParams.set('X-Amz-Expires', String(Math.max(1, Math.min(604800, Math.round(ttlS)))));
    const signed = await this.client.sign(url.toString(), { method, aws: { signQuery: true } });
    return signed.url;
  }

  signedGetUrl(key: string, ttlS: number): Promise<string> {
    return this.presign(key, 'GET', ttlS);
  }

  signedPutUrl(key: string, ttlS: number): Promise<string> {
    return this.presign(key, 'PUT', ttlS);
  }
}
