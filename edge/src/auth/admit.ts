/**
 * Admission of a /v1 request: the API key checked and the request counted against the key's rate
 * limit, in one D1 round trip (a batch of the key lookup and the counting upsert).
 */
import { sha256Hex } from '../crypto.ts';
import { bearerKey, type Caller, callerOf, type KeyRow, keyLookup } from './api-keys.ts';
import { countRequest, judgeRate, type RateState, rateWindow } from './rate-limit.ts';

export interface Admitted {
  readonly caller: Caller;
  readonly rate: RateState;
}

/** 401 for a missing, malformed, unknown or revoked key; 429 past the key's limit. */
export async function admit(
  db: D1Database,
  authorization: string | undefined,
  defaultLimitPerMinute: number,
): Promise<Admitted> {
  const keyHash = await sha256Hex(bearerKey(authorization));
  const window = rateWindow();
  const [lookup, counted] = await db.batch([keyLookup(db, keyHash), countRequest(db, keyHash, window)]);
  const caller = callerOf(lookup?.results[0] as KeyRow | undefined);
  const count = (counted?.results[0] as { count: number } | undefined)?.count ?? 1;
  return { caller, rate: judgeRate(count, caller.rateLimitPerMinute ?? defaultLimitPerMinute, window) };
}
