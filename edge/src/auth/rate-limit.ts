/**
 * Per-key rate limit: a fixed one-minute window counted in D1 (one upsert per request; D1
 * serialises writes, so the count is exact under concurrency). Over the limit: 429 with
 * Retry-After up to the next window.
 */
import { HttpError } from '../http/api-error.ts';

const WINDOW_S = 60;

export interface RateState {
  readonly limit: number;
  readonly remaining: number;
  readonly resetS: number;
}

export async function consumeRate(
  db: D1Database,
  keyId: string,
  limit: number,
  nowMs = Date.now(),
): Promise<RateState> {
  const nowS = Math.floor(nowMs / 1000);
  const windowStart = nowS - (nowS % WINDOW_S);
  const row = await db
    .prepare(
      `INSERT INTO rate_windows (key_id, window_start, count) VALUES (?, ?, 1)
       ON CONFLICT (key_id) DO UPDATE SET
         count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
         window_start = excluded.window_start
       RETURNING count`,
    )
    .bind(keyId, windowStart)
    .first<{ count: number }>();
  const count = row?.count ?? 1;
  const resetS = windowStart + WINDOW_S - nowS;
  const state = { limit, remaining: Math.max(0, limit - count), resetS };
  if (count > limit) {
    throw new HttpError(
      'rate_limited',
      `more than ${limit} requests in one minute for this API key; retry in ${resetS} s`,
      undefined,
      { 'retry-after': String(resetS), ...rateHeaders(state) },
    );
  }
  return state;
}

export function rateHeaders(state: RateState): Record<string, string> {
  return {
    'x-ratelimit-limit': String(state.limit),
    'x-ratelimit-remaining': String(state.remaining),
    'x-ratelimit-reset': String(state.resetS),
  };
}
