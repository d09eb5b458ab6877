/**
 * Driving the edge from tests inside workerd: requests to the Worker (`exports.default`), the
 * admin routes to make accounts and keys, and small request builders.
 */

import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { dataUri, pngHeader } from '../../../shared/test/image-bytes.ts';

export const BASE = 'http://edge.test';

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export async function adminCall(path: string, body: unknown): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.ADMIN_TOKEN as string}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export interface TestAccount {
  readonly id: string;
  readonly key: string;
  readonly keyId: string;
  readonly webhookSecret: string;
}

export async function newAccount(credits = 1000, rateLimitPerMinute = 100_000): Promise<TestAccount> {
  const response = await adminCall('/admin/accounts', {
    name: 'test',
    credits,
    rate_limit_per_minute: rateLimitPerMinute,
  });
  if (response.status !== 201) throw new Error(`admin answered ${response.status}: ${await response.text()}`);
  const created = (await response.json()) as {
    account: { id: string };
    api_key: { id: string; key: string };
    webhook_secret: string;
  };
  return {
    id: created.account.id,
    key: created.api_key.key,
    keyId: created.api_key.id,
    webhookSecret: created.webhook_secret,
  };
}

export function api(
  account: { key: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${account.key}`, ...headers } };
  if (body instanceof Uint8Array) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  return call(path, init);
}

/** A PNG header of the given size as a data URI: the edge reads headers, it never decodes. */
export function pngData(width = 256, height = 256): string {
  return dataUri('image/png', pngHeader(width, height));
}

export function editRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    image: { data: pngData() },
    operations: [
      {
        kind: 'relocate',
        source: {
          polygons: [
            [
              [10, 10],
              [60, 10],
              [60, 60],
              [10, 60],
            ],
          ],
        },
        target: [150, 120],
      },
    ],
    ...overrides,
  };
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
