/**
 * Bad requests, each answered with one precise 4xx and a stable code before anything is stored,
 * held or dispatched: a table of more than 40, including image and webhook URLs to private,
 * loopback, link-local and metadata addresses (local-development switch off here) and oversize
 * bodies (413).
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { dataUri, jpegHeader, pngHeader } from '../../shared/test/image-bytes.ts';
import { BASE, editRequest, json, newAccount, pngData, type TestAccount } from './support/api.ts';

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

const square = [
  [10, 10],
  [60, 10],
  [60, 60],
  [10, 60],
];
const op = (extra: Record<string, unknown>) => ({
  kind: 'relocate',
  source: { polygons: [square] },
  target: [150, 120],
  ...extra,
});

const CASES: Case[] = [
  { name: 'body not JSON', body: '{"image": ', status: 400, code: 'invalid_json' },
  {
    name: 'JSON array body',
    body: '[]',
    status: 422,
    code: 'invalid_type',
    message: 'request: must be an object',
  },
  {
    name: 'unknown field',
    body: editRequest({ webhok: 'https://h.example' }),
    status: 422,
    code: 'unknown_field',
    message: 'webhok: is not a field of the contract (check its spelling)',
  },
  {
    name: 'no image',
    body: { operations: [op({})] },
    status: 422,
    code: 'required',
    message: 'image: is required',
  },
  {
    name: 'no operations',
    body: { image: { data: pngData() } },
    status: 422,
    code: 'required',
    message: 'operations: is required (or give drags instead)',
  },
  {
    name: 'operations and drags',
    body: editRequest({ drags: [{ handle: [1, 1], target: [2, 2] }] }),
    status: 422,
    code: 'conflicting_fields',
  },
  {
    name: 'unknown operation kind',
    body: editRequest({ operations: [op({ kind: 'twist' })] }),
    status: 422,
    code: 'invalid_value',
  },
  {
    name: 'rotate without anchor',
    body: editRequest({ operations: [op({ kind: 'rotate' })] }),
    status: 422,
    code: 'anchor_required',
    message: 'operations[0].anchor: is required for a rotate operation (the pivot point)',
  },
  {
    name: 'anchor on relocate',
    body: editRequest({ operations: [op({ anchor: [5, 5] })] }),
    status: 422,
    code: 'field_not_allowed',
  },
  {
    name: 'too many operations',
    body: editRequest({ operations: Array.from({ length: 9 }, () => op({})) }),
    status: 422,
    code: 'too_many_operations',
  },
  {
    name: 'two-point polygon',
    body: editRequest({
      operations: [
        op({
          source: {
            polygons: [
              [
                [1, 1],
                [5, 5],
              ],
            ],
          },
        }),
      ],
    }),
    status: 422,
    code: 'polygon_too_few_points',
  },
  {
    name: 'self-intersecting polygon',
    body: editRequest({
      operations: [
        op({
          source: {
            polygons: [
              [
                [0, 0],
                [50, 50],
                [50, 0],
                [0, 50],
              ],
            ],
          },
        }),
      ],
    }),
    status: 422,
    code: 'polygon_self_intersecting',
  },
  {
    name: 'collinear polygon',
    body: editRequest({
      operations: [
        op({
          source: {
            polygons: [
              [
                [0, 0],
                [5, 5],
                [9, 9],
              ],
            ],
          },
        }),
      ],
    }),
    status: 422,
    code: 'empty_region',
  },
  {
    name: 'negative target',
    body: editRequest({ operations: [op({ target: [-1, 5] })] }),
    status: 422,
    code: 'coordinate_outside_image',
  },
  {
    name: 'target outside the 256x256 image',
    body: editRequest({ operations: [op({ target: [300, 100] })] }),
    status: 422,
    code: 'coordinate_outside_image',
    message:
      'operations[0].target: point (300, 100) lies outside the 256x256 image (x in [0, 256], y in [0, 256])',
  },
  {
    name: 'steps not an integer',
    body: editRequest({ options: { steps: 2.5 } }),
    status: 422,
    code: 'invalid_type',
    message: 'options.steps: must be an integer',
  },
  {
    name: 'steps out of range',
    body: editRequest({ options: { steps: 1000 } }),
    status: 422,
    code: 'out_of_range',
    message: 'options.steps: must be at most 100',
  },
  {
    name: 'unknown preset',
    body: editRequest({ options: { preset: 'turbo' } }),
    status: 422,
    code: 'invalid_value',
  },
  {
    name: 'prompt too long',
    body: editRequest({ prompts: { editing: 'x'.repeat(2001) } }),
    status: 422,
    code: 'too_long',
  },
  {
    name: 'metadata too large',
    body: editRequest({ metadata: { blob: 'x'.repeat(5000) } }),
    status: 413,
    code: 'metadata_too_large',
  },
  {
    name: 'image as gif data URI',
    body: editRequest({ image: { data: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' } }),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'png declared, jpeg bytes',
    body: editRequest({ image: { data: dataUri('image/png', jpegHeader(256, 256)) } }),
    status: 422,
    code: 'media_type_mismatch',
  },
  {
    name: 'image too small',
    body: editRequest({ image: { data: dataUri('image/png', pngHeader(32, 32)) } }),
    status: 422,
    code: 'image_too_small',
    message: 'image: is 32x32; each side must be at least 64 (and 4 more)',
  },
  {
    name: 'image too large',
    body: editRequest({ image: { data: dataUri('image/png', pngHeader(4096, 256)) } }),
    status: 413,
    code: 'image_too_large',
    message: 'image: is 4096x256; each side must be at most 2048',
  },
  {
    name: 'image bytes unreadable',
    body: editRequest({
      image: { data: `data:image/png;base64,${btoa('\x89PNG\r\n\x1a\nnot a header at all')}` },
    }),
    status: 422,
    code: 'image_unreadable',
  },
  {
    name: 'mask size mismatch',
    body: editRequest({
      operations: [op({ source: { mask: { data: dataUri('image/png', pngHeader(128, 128)) } } })],
    }),
    status: 422,
    code: 'mask_size_mismatch',
    message: 'operations[0].source.mask: is 128x128 but the image is 256x256; they must match',
  },
  {
    name: 'unknown upload id',
    body: editRequest({ image: { upload: 'up_nothere' } }),
    status: 404,
    code: 'not_found',
    message: 'image.upload: no upload up_nothere in this account',
  },
  {
    name: 'image URL over http',
    body: editRequest({ image: { url: 'http://images.example/a.png' } }),
    status: 422,
    code: 'invalid_url',
  },
  {
    name: 'image URL to loopback',
    body: editRequest({ image: { url: 'https://127.0.0.1/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
    message: 'image.url: URL points at 127.0.0.1, a loopback address; only public hosts are allowed',
  },
  {
    name: 'image URL to localhost',
    body: editRequest({ image: { url: 'https://localhost:8443/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'image URL to 10/8',
    body: editRequest({ image: { url: 'https://10.1.2.3/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
    message: 'image.url: URL points at 10.1.2.3, a private address; only public hosts are allowed',
  },
  {
    name: 'image URL to 192.168/16',
    body: editRequest({ image: { url: 'https://192.168.0.10/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'image URL to link-local',
    body: editRequest({ image: { url: 'https://169.254.10.20/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
    message: 'image.url: URL points at 169.254.10.20, a link-local address; only public hosts are allowed',
  },
  {
    name: 'image URL to cloud metadata',
    body: editRequest({ image: { url: 'https://169.254.169.254/latest/meta-data' } }),
    status: 422,
    code: 'address_not_allowed',
    message: 'image.url: URL points at 169.254.169.254, a metadata address; only public hosts are allowed',
  },
  {
    name: 'image URL to metadata name',
    body: editRequest({ image: { url: 'https://metadata.google.internal/x.png' } }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'image URL to decimal loopback',
    body: editRequest({ image: { url: 'https://2130706433/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'image URL to IPv6 loopback',
    body: editRequest({ image: { url: 'https://[::1]/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'image URL to IPv4-mapped IPv6',
    body: editRequest({ image: { url: 'https://[::ffff:10.0.0.1]/a.png' } }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'webhook over http',
    body: editRequest({ webhook: 'http://hooks.example/x' }),
    status: 422,
    code: 'invalid_url',
  },
  {
    name: 'webhook to loopback',
    body: editRequest({ webhook: 'https://127.0.0.1:9/h' }),
    status: 422,
    code: 'address_not_allowed',
    message: 'webhook: points at 127.0.0.1, a loopback address; only public hosts are allowed',
  },
  {
    name: 'webhook to 172.16/12',
    body: editRequest({ webhook: 'https://172.20.1.1/h' }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'webhook to link-local IPv6',
    body: editRequest({ webhook: 'https://[fe80::1]/h' }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'webhook to metadata',
    body: editRequest({ webhook: 'https://169.254.169.254/h' }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'webhook to an intranet name',
    body: editRequest({ webhook: 'https://billing.internal/h' }),
    status: 422,
    code: 'address_not_allowed',
  },
  {
    name: 'events filter without webhook',
    body: editRequest({ webhook_events_filter: ['completed'] }),
    status: 422,
    code: 'field_not_allowed',
  },
  {
    name: 'bad Idempotency-Key',
    body: editRequest(),
    headers: { 'idempotency-key': 'has space' },
    status: 400,
    code: 'invalid_header',
  },
  {
    name: 'edit body over 32 MiB',
    body: 'x',
    headers: { 'content-length': String(33 * 1024 * 1024) },
    status: 413,
    code: 'request_too_large',
    message: 'edit request body is 34603008 bytes; the limit is 33554432',
  },
  {
    name: 'upload over 20 MiB',
    path: '/v1/uploads',
    body: 'x',
    headers: { 'content-type': 'image/png', 'content-length': String(21 * 1024 * 1024) },
    status: 413,
    code: 'image_too_large',
    message: 'the image is 22020096 bytes; the limit is 20971520',
  },
  {
    name: 'upload of a gif',
    path: '/v1/uploads',
    body: 'GIF89a',
    headers: { 'content-type': 'image/gif' },
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'upload bytes not an image',
    path: '/v1/uploads',
    body: 'hello',
    headers: { 'content-type': 'image/png' },
    status: 422,
    code: 'image_unreadable',
  },
  {
    name: 'signed upload of a bad type',
    path: '/v1/uploads',
    body: { content_type: 'image/tiff' },
    status: 422,
    code: 'invalid_value',
  },
  {
    name: 'usage limit out of range',
    method: 'GET',
    path: '/v1/usage?limit=0',
    status: 422,
    code: 'out_of_range',
    message: 'limit: must be an integer from 1 to 100, got "0"',
  },
  {
    name: 'cancel with GET',
    method: 'GET',
    path: '/v1/edits/ed_x/cancel',
    status: 405,
    code: 'method_not_allowed',
  },
  {
    name: 'unknown route',
    method: 'GET',
    path: '/v1/edit',
    status: 404,
    code: 'not_found',
    message: 'no route GET /v1/edit',
  },
];

async function send(account: TestAccount, c: Case): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${account.key}`, ...c.headers };
  const init: RequestInit = { method: c.method ?? 'POST', headers };
  if (c.body !== undefined) {
    init.body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    headers['content-type'] ??= 'application/json';
  }
  return exports.default.fetch(new Request(`${BASE}${c.path ?? '/v1/edits'}`, init));
}

describe('bad requests', () => {
  it('has more than 40 cases', () => {
    expect(CASES.length).toBeGreaterThan(40);
  });

  it.each(CASES)('$name: $status $code', async (c) => {
    const account = await newAccount();
    const response = await send(account, c);
    const body = await json<{ code: string; message: string }>(response);
    expect([response.status, body.code]).toEqual([c.status, c.code]);
    if (c.message !== undefined) expect(body.message).toBe(c.message);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    // Nothing was held or stored for a refused request.
    const usage = await json<{ held_credits: number; ledger: unknown[] }>(
      await exports.default.fetch(
        new Request(`${BASE}/v1/usage`, { headers: { authorization: `Bearer ${account.key}` } }),
      ),
    );
    expect([usage.held_credits, usage.ledger.length]).toEqual([0, 1]);
    const edits = await env.DB.prepare('SELECT COUNT(*) AS n FROM edits WHERE account_id = ?')
      .bind(account.id)
      .first<{ n: number }>();
    expect(edits!.n).toBe(0);
  });
});
