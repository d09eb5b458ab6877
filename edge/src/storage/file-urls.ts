/**
 * Expiring URLs the edge signs and serves itself (`/files/{key}`), for stores without their own
 * presigning (the R2 binding): HMAC-SHA256 over method, key and expiry, checked in constant time.
 */
import { bytesToBase64Url, hmacSha256, timingSafeEqualText } from '../crypto.ts';

export const FILES_PATH = '/files/';

function payload(method: 'GET' | 'PUT', key: string, expires: number): string {
  return `${method}\n${key}\n${expires}`;
}

export class FileUrlSigner {
  constructor(
    private readonly secret: string,
    private readonly baseUrl: string,
  ) {}

  async sign(method: 'GET' | 'PUT', key: string, ttlS: number, nowMs = Date.now()): Promise<string> {
    const expires = Math.floor(nowMs / 1000) + Math.max(1, Math.round(ttlS));
    const signature = bytesToBase64Url(await hmacSha256(this.secret, payload(method, key, expires)));
    const path = key.split('/').map(encodeURIComponent).join('/');
    return `${this.baseUrl}${FILES_PATH}${path}?expires=${expires}&signature=${signature}`;
  }
}

export type FileUrlProblem = 'expired' | 'bad_signature' | undefined;

/** Checks a signed file URL's query; undefined when it is valid for `method` on `key` now. */
export async function checkFileUrl(
  secret: string,
  method: 'GET' | 'PUT',
  key: string,
  query: { expires?: string; signature?: string },
  nowMs = Date.now(),
): Promise<FileUrlProblem> {
  const expires = Number(query.expires);
  if (!Number.isSafeInteger(expires) || query.signature === undefined) return 'bad_signature';
  const expected = bytesToBase64Url(await hmacSha256(secret, payload(method, key, expires)));
  if (!timingSafeEqualText(expected, query.signature)) return 'bad_signature';
  if (expires < Math.floor(nowMs / 1000)) return 'expired';
  return undefined;
}
