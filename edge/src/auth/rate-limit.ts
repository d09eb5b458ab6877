/**
 * Per-key rate limit: a fixed one-minute window counted in D1 (one upsert per request, batched
 * with the key lookup; D1 serialises writes, so the count is exact under concurrency). Over the
 * limit: 429 with Retry-After up to the next window.
 */
import { HttpError } from '../http/api-error.ts';

const WINDOW_S = 60;

export interface RateState {
  readonly limit: number;
  readonly remaining: number;
  readonly resetS: number;
}

export interface RateWindow {
  readonly start: number;
  /** Seconds until the next window. */
  readonly resetS: number;
}

export function rateWindow(nowMs = Date.now()): RateWindow {
  const nowS = Math.floor(nowMs / 1000);
  const start = nowS - (nowS % WINDOW_S);
  return { start, resetS: start + WINDOW_S - nowS };
}

/**
 * Counts one request for the active key with this hash in the window; RETURNING the count (no
 * row for an unknown or revoked key). One statement, batched with the key lookup.
 */
export function countRequest(db: D1Database, keyHash: string, window: RateWindow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO rate_windows (key_id, window_start, count)
       SELECT id, ?, 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL
       ON CONFLICT (key_id) DO UPDATE SET
         count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
         window_start = excluded.window_start
       RETURNING count`,
    )
    .bind(window.start, keyHash);
}

/** The rate state after `count` requests in the window, or 429 past the limit. */
export function judgeRate(count: number, limit: number, window: RateWindow): RateState {
  const state = { limit, remaining: Math.max(0, limit - count), resetS: window.resetS };
  if (count > limit) {
    throw new HttpError(
      'rate_limited',
      `more than ${limit} requests in one minute for this API key; retry in ${window.resetS} s`,
      undefined,
      { 'retry-after': String(window.resetS), ...rateHeaders(state) },
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
