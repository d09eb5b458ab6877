/**
 * API keys: `dfk_` + 32 random bytes (base64url). Only the SHA-256 of a key is stored; the key
 * is shown once when it is created. A request's key is looked up by that hash (an exact match
 * on a 256-bit digest, so no comparison of secrets happens in code).
 */
import { newId, randomToken, sha256Hex } from '../crypto.ts';
import { HttpError } from '../http/api-error.ts';

const KEY_PREFIX = 'dfk_';
const KEY_PATTERN = /^dfk_[A-Za-z0-9_-]{43}$/;

export interface Caller {
  readonly accountId: string;
  readonly keyId: string;
  readonly rateLimitPerMinute: number | null;
}

export interface CreatedKey {
  readonly id: string;
  readonly key: string;
  readonly prefix: string;
}

export async function createApiKey(
  db: D1Database,
  accountId: string,
  rateLimitPerMinute: number | null = null,
): Promise<CreatedKey> {
  const key = `${KEY_PREFIX}${randomToken(32)}`;
  const id = newId('key');
  const prefix = key.slice(0, 10);
  await db
    .prepare(
      'INSERT INTO api_keys (id, account_id, key_hash, prefix, rate_limit_per_minute, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .bind(id, accountId, await sha256Hex(key), prefix, rateLimitPerMinute, new Date().toISOString())
    .run();
  return { id, key, prefix };
}

/** Marks a key revoked; true when it existed and was active. */
export async function revokeApiKey(db: D1Database, keyId: string): Promise<boolean> {
  const result = await db
    .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
    .bind(new Date().toISOString(), keyId)
    .run();
  return result.meta.changes === 1;
}

function unauthorized(reason: string): HttpError {
  return new HttpError('unauthorized', reason, undefined, { 'www-authenticate': 'Bearer realm="dragflow"' });
}

/** The API key in an `Authorization: Bearer <key>` header, or 401. */
export function bearerKey(authorization: string | undefined): string {
  if (authorization === undefined) {
    throw unauthorized('Authorization header missing; send Authorization: Bearer <api key>');
  }
  const match = /^Bearer (\S+)$/.exec(authorization);
  if (!match) throw unauthorized('Authorization header must be "Bearer <api key>"');
  const key = match[1]!;
  if (!KEY_PATTERN.test(key)) throw unauthorized('API key is malformed (expected dfk_ and 43 characters)');
  return key;
}

export interface KeyRow {
  readonly id: string;
  readonly account_id: string;
  readonly rate_limit_per_minute: number | null;
  readonly revoked_at: string | null;
}

/** The key row with this hash (one statement, to batch with others). */
export function keyLookup(db: D1Database, keyHash: string): D1PreparedStatement {
  return db
    .prepare('SELECT id, account_id, rate_limit_per_minute, revoked_at FROM api_keys WHERE key_hash = ?')
    .bind(keyHash);
}

/** The caller a key row names, or 401 for no row or a revoked key. */
export function callerOf(row: KeyRow | undefined): Caller {
  if (!row) throw unauthorized('API key is not valid');
  if (row.revoked_at !== null) throw unauthorized('API key was revoked');
  return { accountId: row.account_id, keyId: row.id, rateLimitPerMinute: row.rate_limit_per_minute };
}
