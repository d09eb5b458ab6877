/**
 * Bad requests against the real server (child process, demo bundle, loopback image host): each
 * one is answered as a failed prediction carrying the contract's error code, with the HTTP status
 * of that code, and the server is READY afterwards. Then a good request by URL (the image is
 * fetched and, with no upload URL, the output comes back as data URIs) and the concurrency setting
 * (two slots: two predictions at once, a third refused).
 */
import type { ServerResponse } from 'node:http';
import type { EditRequest } from '@dragflow/shared/edit-request';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  type ChildServer,
  type Received,
  type Receiver,
  spawnServer,
  startReceiver,
} from '../../gpu-function/test/server/http-fixtures.ts';
import { blankScene, dataUri, maskPng, pngOf, shapeMask, useTemporaryCache } from '../e2e/scenes.ts';
import { call, EDITS, editInput, postAsync, prediction, SIZE } from './client.ts';

const MAX_BODY = 256 * 1024;

useTemporaryCache('server-bad-requests-');

let server: ChildServer;
let images: Receiver;
let closedPort: string;
const files = new Map<string, { type: string; bytes: Uint8Array }>();

function serve(request: Received, res: ServerResponse): Answer | 'hold' {
  switch (request.path) {
    case '/slow.png':
      return 'hold';
    case '/huge.png':
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(30 * 1024 * 1024) });
      res.flushHeaders();
      return 'hold';
    case '/redirect.png':
      return { status: 302, headers: { location: 'https://10.0.0.1/image.png' } };
  }
  const file = files.get(request.path);
  return file ? { status: 200, headers: { 'content-type': file.type }, body: file.bytes } : { status: 404 };
}

let good: EditRequest;

beforeAll(async () => {
  images = await startReceiver(serve);
  const spare = await startReceiver();
  closedPort = new URL(spare.url).port;
  await spare.close();
  good = await editInput();
  const png = Buffer.from(good.image.data!.split(',')[1]!, 'base64');
  const jpeg = await sharp(png).jpeg().toBuffer();
  const small = await maskPng(
    shapeMask(32, 32, () => true),
    32,
    32,
  );
  files.set('/image.png', { type: 'image/png', bytes: png });
  files.set('/image.jpg', { type: 'image/jpeg', bytes: jpeg });
  files.set('/mask-32.png', { type: 'image/png', bytes: small });
  files.set('/page.html', {
    type: 'text/html',
    bytes: new TextEncoder().encode('<!doctype html><p>not an image</p>'),
  });
  files.set('/corrupt.png', {
    type: 'image/png',
    bytes: new Uint8Array([...png.subarray(0, 16), ...new Uint8Array(200)]),
  });
  server = await spawnServer([
    '--demo',
    '--concurrency',
    '2',
    '--allow-loopback',
    '--fetch-timeout',
    '1',
    '--max-body-bytes',
    String(MAX_BODY),
  ]);
  expect(await server.settled()).toBe('READY');
});

afterAll(async () => {
  await server?.stop();
  await images?.close();
});

const url = (path: string) => `${images.url}${path}`;
const withImage = (image: Record<string, string>) => ({ ...good, image });
const withOperation = (change: Record<string, unknown>) => ({
  ...good,
  operations: [{ ...good.operations![0]!, ...change }],
});
const gif = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/** [what, body (JSON text or object), HTTP status, error code, JSON path of the first error]. */
type Case = [string, () => Promise<unknown> | unknown, number, string, string];

const cases: Case[] = [
  ['malformed JSON', () => '{"input": {', 400, 'invalid_json', ''],
  ['a JSON array as the body', () => '[1, 2]', 422, 'invalid_type', ''],
  ['an unknown top-level field', () => ({ inputs: good }), 422, 'unknown_field', 'inputs'],
  [
    'an unknown input field (typo)',
    () => ({ input: { ...good, operation: [] } }),
    422,
    'unknown_field',
    'operation',
  ],
  ['no input at all', () => ({}), 422, 'required', 'image'],
  ['a GIF image', () => ({ input: withImage({ data: gif }) }), 415, 'unsupported_media_type', 'image.data'],
  [
    'JPEG bytes declared as PNG',
    () => ({
      input: withImage({
        data: `data:image/png;base64,${Buffer.from(files.get('/image.jpg')!.bytes).toString('base64')}`,
      }),
    }),
    422,
    'media_type_mismatch',
    'image.data',
  ],
  [
    'an image wider than 2048 px',
    async () => ({ input: withImage(dataUri(await pngOf(blankScene(2064, 64).rgb, 2064, 64))) }),
    413,
    'image_too_large',
    'image',
  ],
  [
    'an image smaller than 64 px',
    async () => ({ input: withImage(dataUri(await pngOf(blankScene(48, 48).rgb, 48, 48))) }),
    422,
    'image_too_small',
    'image',
  ],
  [
    'a URL to a private address',
    () => ({ input: withImage({ url: 'https://10.0.0.1/image.png' }) }),
    422,
    'address_not_allowed',
    'image.url',
  ],
  [
    'a URL to the cloud metadata address',
    () => ({ input: withImage({ url: 'https://169.254.169.254/latest/meta-data' }) }),
    422,
    'address_not_allowed',
    'image.url',
  ],
  [
    'a plain http URL to a public host',
    () => ({ input: withImage({ url: 'http://example.com/a.png' }) }),
    422,
    'invalid_url',
    'image.url',
  ],
  [
    'an unreachable URL',
    () => ({ input: withImage({ url: `http://127.0.0.1:${closedPort}/a.png` }) }),
    422,
    'image_unreadable',
    'image.url',
  ],
  [
    'a URL slower than the time limit',
    () => ({ input: withImage({ url: url('/slow.png') }) }),
    422,
    'fetch_timeout',
    'image.url',
  ],
  [
    'a URL answering 404',
    () => ({ input: withImage({ url: url('/missing.png') }) }),
    422,
    'image_unreadable',
    'image.url',
  ],
  [
    'a URL answering a redirect',
    () => ({ input: withImage({ url: url('/redirect.png') }) }),
    422,
    'image_unreadable',
    'image.url',
  ],
  [
    'a URL serving HTML',
    () => ({ input: withImage({ url: url('/page.html') }) }),
    415,
    'unsupported_media_type',
    'image.url',
  ],
  [
    'a URL over the byte limit',
    () => ({ input: withImage({ url: url('/huge.png') }) }),
    413,
    'image_too_large',
    'image.url',
  ],
  [
    'a URL serving a corrupt PNG',
    () => ({ input: withImage({ url: url('/corrupt.png') }) }),
    422,
    'image_unreadable',
    'image',
  ],
  [
    'a URL whose bytes contradict the declared type',
    () => ({ input: withImage({ url: url('/image.jpg'), content_type: 'image/png' }) }),
    422,
    'media_type_mismatch',
    'image.content_type',
  ],
  [
    'a mask smaller than the image (inline)',
    async () => ({ input: withOperation({ source: { mask: dataUri(files.get('/mask-32.png')!.bytes) } }) }),
    422,
    'mask_size_mismatch',
    'operations.0.source.mask',
  ],
  [
    'a mask smaller than the image (by URL)',
    () => ({ input: withOperation({ source: { mask: { url: url('/mask-32.png') } } }) }),
    422,
    'mask_size_mismatch',
    'operations.0.source.mask',
  ],
  [
    'an empty mask',
    async () => ({
      input: withOperation({
        source: { mask: dataUri(await maskPng(new Uint8Array(SIZE * SIZE), SIZE, SIZE)) },
      }),
    }),
    422,
    'empty_region',
    // The mask decoder reports it at the mask, saying the > 127 threshold and the brightest level.
    'operations.0.source.mask',
  ],
  [
    'a target outside the image',
    () => ({ input: withOperation({ target: [500, 20] }) }),
    422,
    'coordinate_outside_image',
    'operations.0.target',
  ],
  [
    'a rotation without an anchor',
    () => ({ input: withOperation({ kind: 'rotate' }) }),
    422,
    'anchor_required',
    'operations.0.anchor',
  ],
  [
    'a self-intersecting polygon',
    () => ({
      input: withOperation({
        source: {
          polygons: [
            [
              [10, 10],
              [50, 50],
              [50, 10],
              [10, 50],
            ],
          ],
        },
      }),
    }),
    422,
    'polygon_self_intersecting',
    'operations.0.source.polygons.0',
  ],
  [
    'one schedule step',
    () => ({ input: { ...good, options: { steps: 1, skip_steps: 0 } } }),
    422,
    'out_of_range',
    'options.steps',
  ],
  [
    'nine operations',
    () => ({ input: { ...good, operations: Array.from({ length: 9 }, () => good.operations![0]) } }),
    422,
    'too_many_operations',
    'operations',
  ],
  [
    'an upload id',
    () => ({ input: withImage({ upload: 'up_123' }) }),
    422,
    'image_unreadable',
    'image.upload',
  ],
  [
    "the public API's webhook inside the input",
    () => ({ input: { ...good, webhook: 'https://hooks.example/x' } }),
    422,
    'field_not_allowed',
    'webhook',
  ],
  [
    'an ftp webhook',
    () => ({ input: good, webhook: 'ftp://hooks.example/x' }),
    422,
    'invalid_url',
    'webhook',
  ],
  [
    'an unknown webhook event',
    () => ({ input: good, webhook: `${images.url}/hook`, webhook_events_filter: ['progress'] }),
    422,
    'invalid_value',
    'webhook_events_filter.0',
  ],
  [
    'a body over the byte limit',
    () => ({ input: good, padding: 'x'.repeat(MAX_BODY) }),
    413,
    'request_too_large',
    '',
  ],
];

describe('bad requests', () => {
  const table = cases.map(([what, body, status, code, path]) => ({ what, body, status, code, path }));
  it.each(table)(
    '$what: a failed prediction, HTTP $status, $code at "$path"',
    async ({ body, status, code, path }) => {
      const answer = await call(`${server.url}/predictions`, 'POST', await body());
      expect(answer.status).toBe(status);
      const failed = prediction(answer);
      expect(failed.status).toBe('failed');
      expect(failed.error_detail?.code).toBe(code);
      expect(failed.error).toBe(failed.error_detail?.message);
      const first = failed.error_detail?.details?.errors?.[0];
      if (first) expect(first.path.join('.')).toBe(path);
      expect(failed.output).toBeNull();
    },
  );

  it('counts at least 25 kinds', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(new Set(cases.map((c) => c[3])).size).toBeGreaterThanOrEqual(20);
  });

  it('refuses a PUT id outside the allowed characters', async () => {
    const answer = await call(`${server.url}/predictions/has.dot`, 'PUT', { input: good });
    expect(answer.status).toBe(422);
    expect(prediction(answer).error_detail?.code).toBe('invalid_value');
  });

  it('is READY afterwards and runs a good edit fetched by URL, answering data URIs', async () => {
    const health = await call(`${server.url}/health-check`, 'GET');
    expect(health.body.status).toBe('READY');
    const answer = await call(`${server.url}/predictions`, 'POST', {
      input: { ...withImage({ url: url('/image.png'), content_type: 'image/png' }), options: EDITS.quick },
    });
    expect(answer.status).toBe(200);
    const done = prediction(answer);
    expect(done.status).toBe('succeeded');
    expect(done.logs).toMatch(new RegExp(`fetched image: \\d+ bytes image/png from ${images.url}/image.png`));
    expect(done.output?.image).toMatch(/^data:image\/png;base64,/);
    expect(done.output?.editable_mask).toMatch(/^data:image\/png;base64,/);
    const edited = await sharp(Buffer.from(done.output!.image!.split(',')[1]!, 'base64')).metadata();
    expect([edited.width, edited.height]).toEqual([SIZE, SIZE]);
  });
});

describe('two slots (--concurrency 2)', () => {
  it('runs two predictions at once, refuses a third with 409, and is READY once both are canceled', async () => {
    const input = await editInput(EDITS.endless);
    const started = [
      await postAsync(server.url, { id: 'slot-a', input }),
      await postAsync(server.url, { id: 'slot-b', input }),
    ];
    expect(started.map((a) => a.status)).toEqual([202, 202]);
    expect((await call(`${server.url}/health-check`, 'GET')).body.status).toBe('BUSY');
    const third = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect(third.status).toBe(409);
    expect(prediction(third).error).toBe('At capacity: all 2 prediction slot(s) are busy');
    await server.waitForLog(/prediction slot-a: processing/);
    await server.waitForLog(/prediction slot-b: processing/);
    for (const id of ['slot-a', 'slot-b'])
      expect((await call(`${server.url}/predictions/${id}/cancel`, 'POST')).status).toBe(200);
    await server.waitForLog(/prediction slot-a: canceled/);
    await server.waitForLog(/prediction slot-b: canceled/);
    expect((await call(`${server.url}/health-check`, 'GET')).body.status).toBe('READY');
    expect(server.log()).toMatch(/setup: slot 1: warm-up edit at 256x256/);
  });
});
