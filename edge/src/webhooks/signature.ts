/**
 * Standard Webhooks signatures (standardwebhooks.com), the scheme Replicate also uses: HMAC-SHA256
 * over `${webhook-id}.${webhook-timestamp}.${body}`, keyed by the base64 secret after `whsec_`,
 * sent as `v1,<base64>` entries in webhook-signature. The edge signs its customer webhooks with
 * it and verifies Replicate's webhooks with it (timestamp tolerance, constant-time comparison).
 */
import { base64ToBytes, bytesToBase64, hmacSha256, randomToken, timingSafeEqualText } from '../crypto.ts';

const SECRET_PREFIX = 'whsec_';
/** The reference libraries' tolerance for webhook-timestamp, either way. */
export const TIMESTAMP_TOLERANCE_S = 5 * 60;

export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${SECRET_PREFIX}${bytesToBase64(bytes)}`;
}

function secretBytes(secret: string): Uint8Array {
  return base64ToBytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
}

export async function signature(
  secret: string,
  id: string,
  timestampS: number,
  body: string,
): Promise<string> {
  const mac = await hmacSha256(secretBytes(secret), `${id}.${timestampS}.${body}`);
  return `v1,${bytesToBase64(mac)}`;
}

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export async function signedHeaders(
  secret: string,
  id: string,
  body: string,
  nowMs = Date.now(),
): Promise<SignedHeaders> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': await signature(secret, id, timestamp, body),
  };
}

export type VerifyResult =
  | { readonly ok: true; readonly id: string; readonly timestampS: number }
  | { readonly ok: false; readonly problem: 'missing_headers' | 'bad_signature' | 'stale_timestamp' };

/** Checks a signed delivery: the headers, the timestamp window, then each v1 signature. */
export async function verifySigned(
  secret: string,
  headers: Headers,
  body: string,
  nowMs = Date.now(),
): Promise<VerifyResult> {
  const id = headers.get('webhook-id');
  const timestampText = headers.get('webhook-timestamp');
  const signatures = headers.get('webhook-signature');
  if (!id || !timestampText || !signatures) return { ok: false, problem: 'missing_headers' };
  const timestampS = Number(timestampText);
  if (!Number.isSafeInteger(timestampS)) return { ok: false, problem: 'missing_headers' };
  if (Math.abs(nowMs / 1000 - timestampS) > TIMESTAMP_TOLERANCE_S)
    return { ok: false, problem: 'stale_timestamp' };
  const expected = await signature(secret, id, timestampS, body);
  const match = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .some((entry) => timingSafeEqualText(entry, expected));
  return match ? { ok: true, id, timestampS } : { ok: false, problem: 'bad_signature' };
}

/** A per-edit callback secret (in the callback URL the GPU function is given). */
export function newCallbackSecret(): string {
  return randomToken(24);
}
