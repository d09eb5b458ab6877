/**
 * Cog conformance of `dragflow serve`: the real server (a child process on loopback, demo bundle,
 * a temporary cache) driven over HTTP, with a real webhook receiver and a real upload endpoint.
 * Cancel and busy tests wait for events (a webhook, a log line), never for a time; the edits they
 * stop are far too long to end first.
 */

import { openApiDocument } from '@dragflow/gpu-function/server/openapi';
import { SERVER_VERSION } from '@dragflow/gpu-function/server/server';
import { validate } from '@dragflow/shared/issues';
import { HealthCheckSchema, type Prediction } from '@dragflow/shared/prediction';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChildServer,
  type Receiver,
  send,
  spawnServer,
  startReceiver,
} from '../../gpu-function/test/server/http-fixtures.ts';
import { reportFigures, useTemporaryCache } from '../e2e/scenes.ts';
import { call, EDITS, editInput, hook, isTerminalHook, postAsync, prediction, SIZE } from './client.ts';

const TOKEN = 'conformance-token';

useTemporaryCache('server-conformance-');

let server: ChildServer;
let hooks: Receiver;
let uploads: Receiver;
/** Per webhook path: how many times to answer 503 before 200. */
const failFirst = new Map<string, number>();

beforeAll(async () => {
  hooks = await startReceiver((request) => {
    const left = failFirst.get(request.path) ?? 0;
    if (left > 0) {
      failFirst.set(request.path, left - 1);
      return { status: 503 };
    }
    return { status: 200 };
  });
  uploads = await startReceiver((request) => ({
    status: 201,
    headers: { location: `${uploads.url}/files/${request.path.split('/').pop()}?X-Signature=secret` },
  }));
  server = await spawnServer(['--demo', '--upload-url', `${uploads.url}/upload`, '--allow-loopback'], {
    WEBHOOK_AUTH_TOKEN: TOKEN,
  });
  expect(await server.settled()).toBe('READY');
});

afterAll(async () => {
  await server?.stop();
  expect(server.log()).not.toContain(TOKEN);
  expect(server.log()).not.toContain('X-Signature');
  await hooks?.close();
  await uploads?.close();
});

const hooksAt = (path: string) => hooks.requests.filter((r) => r.path === path);

async function health(): Promise<string> {
  return ((await call(`${server.url}/health-check`, 'GET')).body as { status: string }).status;
}

describe('discovery, health and schema', () => {
  it("GET / lists Cog's endpoints", async () => {
    const { status, body } = await call(`${server.url}/`, 'GET');
    expect(status).toBe(200);
    expect(body).toEqual({
      openapi_url: '/openapi.json',
      shutdown_url: '/shutdown',
      healthcheck_url: '/health-check',
      predictions_url: '/predictions',
      predictions_idempotent_url: '/predictions/{prediction_id}',
      predictions_cancel_url: '/predictions/{prediction_id}/cancel',
      cog_version: `dragflow ${SERVER_VERSION}`,
    });
  });

  it('GET /health-check is READY with the setup block and its logs', async () => {
    const { status, body } = await call(`${server.url}/health-check`, 'GET');
    expect(status).toBe(200);
    const check = validate(HealthCheckSchema, body);
    expect(check.ok).toBe(true);
    expect(body).toMatchObject({ status: 'READY', error: null, setup: { status: 'succeeded' } });
    const setup = body.setup as { logs: string; completed_at: string; started_at: string };
    expect(setup.logs).toMatch(/demo bundle (built|found) at /);
    expect(setup.logs).toMatch(/slot 0: warm-up edit at 256x256, 12 transformer calls/);
    expect(Date.parse(setup.completed_at)).toBeGreaterThanOrEqual(Date.parse(setup.started_at));
  });

  it('GET /openapi.json serves the document built from the shared contract', async () => {
    const { status, body } = await call(`${server.url}/openapi.json`, 'GET');
    expect(status).toBe(200);
    expect(body).toEqual(openApiDocument(SERVER_VERSION));
  });

  it('answers 404 for unknown paths, 405 for wrong methods, 406 for event streams, 404 {} for unknown cancels', async () => {
    expect((await call(`${server.url}/nope`, 'GET')).status).toBe(404);
    expect((await call(`${server.url}/predictions`, 'GET')).status).toBe(405);
    expect((await call(`${server.url}/predictions/abc`, 'POST', {})).status).toBe(405);
    const stream = await call(
      `${server.url}/predictions`,
      'POST',
      { input: await editInput() },
      { accept: 'text/event-stream' },
    );
    expect(stream.status).toBe(406);
    expect(await call(`${server.url}/predictions/unknown-id/cancel`, 'POST')).toEqual({
      status: 404,
      body: {},
    });
  });
});

describe('synchronous prediction with an upload URL', () => {
  let result: Prediction;

  beforeAll(async () => {
    const answer = await call(`${server.url}/predictions`, 'POST', {
      id: 'sync-upload',
      input: await editInput({ ...EDITS.quick, preview_interval: 2, output_metrics: true }),
    });
    expect(answer.status).toBe(200);
    result = prediction(answer);
  });

  it('succeeds with Cog fields, per-edit metrics and structured progress', () => {
    expect(result).toMatchObject({ id: 'sync-upload', status: 'succeeded', error: null, error_detail: null });
    expect(result.version).toMatch(/^demo@[0-9a-f]{12}$/);
    expect(result.metrics.transformer_calls).toBe(19);
    expect(result.metrics.predict_time).toBeGreaterThan(0);
    expect(result.progress).toEqual({
      phase: 'encoding',
      step: 1,
      total: 1,
      loss: null,
      transformer_calls: 19,
    });
    const lines = result.logs.split('\n');
    const drag = lines.filter((l) =>
      /^(transport|intensify) \d\/\d loss \d\.\d{3}e[-+]\d+(.*)?, \d+ transformer calls$/.test(l),
    );
    expect(drag.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'transport 1/4',
      'transport 2/4',
      'transport 3/4',
      'transport 4/4',
      'intensify 1/2',
      'intensify 2/2',
    ]);
    expect(Date.parse(result.completed_at!)).toBeGreaterThanOrEqual(Date.parse(result.started_at!));
  });

  it('PUTs every file to {upload_url}/{filename} and outputs the returned Location without its query', async () => {
    const put = uploads.requests.filter((r) => r.path.startsWith('/upload/sync-upload-'));
    expect(put.map((r) => [r.method, r.path, r.headers['content-type']])).toEqual([
      ['PUT', '/upload/sync-upload-preview-transport-002.png', 'image/png'],
      ['PUT', '/upload/sync-upload-preview-transport-004.png', 'image/png'],
      ['PUT', '/upload/sync-upload-preview-intensify-002.png', 'image/png'],
      ['PUT', '/upload/sync-upload-image.png', 'image/png'],
      ['PUT', '/upload/sync-upload-editable-mask.png', 'image/png'],
      ['PUT', '/upload/sync-upload-metrics.json', 'application/json'],
    ]);
    const files = `${uploads.url}/files/sync-upload`;
    expect(result.output).toEqual({
      previews: [
        `${files}-preview-transport-002.png`,
        `${files}-preview-transport-004.png`,
        `${files}-preview-intensify-002.png`,
      ],
      image: `${files}-image.png`,
      editable_mask: `${files}-editable-mask.png`,
      metrics: `${files}-metrics.json`,
    });
    const image = await sharp(put[3]!.body).metadata();
    const mask = await sharp(put[4]!.body).metadata();
    expect([image.width, image.height, image.channels]).toEqual([SIZE, SIZE, 3]);
    expect([mask.width, mask.height, mask.channels]).toEqual([SIZE, SIZE, 1]);
    const metrics = JSON.parse(put[5]!.body.toString()) as { losses: number[]; transformer_calls: number };
    expect([metrics.losses.length, metrics.transformer_calls]).toEqual([6, 19]);
  });
});

describe('asynchronous prediction with webhooks', () => {
  it('answers 202 starting, then webhooks arrive in order: start first, completed last, >= 500 ms apart', async () => {
    const accepted = await postAsync(server.url, {
      id: 'async-hooks',
      input: await editInput(EDITS.webhooks),
      webhook: `${hooks.url}/async`,
    });
    expect(accepted.status).toBe(202);
    expect(prediction(accepted)).toMatchObject({
      id: 'async-hooks',
      status: 'starting',
      output: null,
      started_at: null,
    });
    await hooks.waitFor(isTerminalHook('/async'));
    const received = hooksAt('/async');
    const sent = received.map(hook);
    expect(sent[0]!.status).toBe('processing');
    expect(sent[0]!.logs).toBe('');
    expect(sent.at(-1)!.status).toBe('succeeded');
    expect(sent.slice(0, -1).every((p) => p.status === 'processing')).toBe(true);
    expect(received.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const gaps = received.slice(1, -1).map((r, i) => r.at - received[i]!.at);
    reportFigures('webhooks', {
      deliveries: received.length,
      non_terminal: received.length - 1,
      smallest_gap_ms: Math.min(...gaps),
    });
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500);
    // Structured progress rides along: transport steps with their loss, without parsing logs.
    const transport = sent.filter((p) => p.progress?.phase === 'transport');
    expect(transport.length).toBeGreaterThan(0);
    expect(transport.every((p) => typeof p.progress!.loss === 'number' && p.progress!.total === 40)).toBe(
      true,
    );
    const steps = sent.map((p) => p.logs.split('\n').length);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(sent.at(-1)!.output?.image).toBe(`${uploads.url}/files/async-hooks-image.png`);
  });

  it('sends only the events of webhook_events_filter', async () => {
    await postAsync(server.url, {
      id: 'filtered',
      input: await editInput(EDITS.webhooks),
      webhook: `${hooks.url}/filtered`,
      webhook_events_filter: ['start', 'completed'],
    });
    await hooks.waitFor(isTerminalHook('/filtered'));
    expect(hooksAt('/filtered').map((r) => hook(r).status)).toEqual(['processing', 'succeeded']);
  });

  it('retries the completed webhook: a receiver answering 503 twice then 200 still gets it', async () => {
    failFirst.set('/flaky', 2);
    await postAsync(server.url, {
      id: 'flaky',
      input: await editInput(),
      webhook: `${hooks.url}/flaky`,
      webhook_events_filter: ['completed'],
    });
    await hooks.waitFor((r) => r.path === '/flaky' && hooksAt('/flaky').length === 3);
    const received = hooksAt('/flaky');
    expect(received.map((r) => hook(r).status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(new Set(received.map((r) => r.body.toString())).size).toBe(1);
    expect(failFirst.get('/flaky')).toBe(0);
    await server.waitForLog(/prediction flaky: completed webhook to .*\/flaky: HTTP 503, retry in 400 ms/);
  });
});

describe('idempotent PUT', () => {
  it('runs one edit for two PUTs of one id, and answers the result to a PUT after it finished', async () => {
    const input = await editInput(EDITS.webhooks);
    const body = { input, webhook: `${hooks.url}/put` };
    const first = await call(`${server.url}/predictions/put-once`, 'PUT', body, { prefer: 'respond-async' });
    const second = await call(`${server.url}/predictions/put-once`, 'PUT', body, { prefer: 'respond-async' });
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(prediction(second).id).toBe('put-once');
    expect(['starting', 'processing']).toContain(prediction(second).status);
    await hooks.waitFor(isTerminalHook('/put'));
    const third = await call(`${server.url}/predictions/put-once`, 'PUT', body);
    expect(third.status).toBe(200);
    expect(prediction(third)).toMatchObject({ id: 'put-once', status: 'succeeded' });
    expect(server.log().match(/prediction put-once: created/g)).toHaveLength(1);
    expect(
      hooksAt('/put').filter((r) => hook(r).status === 'processing' && hook(r).logs === ''),
    ).toHaveLength(1);
    expect(uploads.requests.filter((r) => r.path === '/upload/put-once-image.png')).toHaveLength(1);
  });

  it('refuses a body id that differs from the URL id with 422', async () => {
    const answer = await call(`${server.url}/predictions/url-id`, 'PUT', {
      id: 'body-id',
      input: await editInput(),
    });
    expect(answer.status).toBe(422);
    expect(prediction(answer)).toMatchObject({
      id: 'url-id',
      status: 'failed',
      error_detail: {
        code: 'conflicting_fields',
        message: 'id: is "body-id" but the URL names "url-id"; they must match',
      },
    });
  });

  it('runs synchronously without the Prefer header', async () => {
    const answer = await call(`${server.url}/predictions/put-sync`, 'PUT', { input: await editInput() });
    expect(answer.status).toBe(200);
    expect(prediction(answer)).toMatchObject({ id: 'put-sync', status: 'succeeded' });
  });
});

describe('busy and cancel', () => {
  it('answers 409 at capacity, cancels mid-edit before the next transformer call, frees the slot', async () => {
    const accepted = await postAsync(server.url, {
      id: 'endless',
      input: await editInput(EDITS.endless),
      webhook: `${hooks.url}/endless`,
    });
    expect(accepted.status).toBe(202);
    // The slot is taken before the 202, so the next request is refused at once.
    const busy = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect(busy.status).toBe(409);
    expect(prediction(busy)).toMatchObject({ status: 'failed', error_detail: { code: 'at_capacity' } });
    expect(await health()).toBe('BUSY');

    const midEdit = hook(
      await hooks.waitFor((r) => r.path === '/endless' && hook(r).progress?.phase === 'transport'),
    );
    expect(await call(`${server.url}/predictions/endless/cancel`, 'POST')).toEqual({ status: 200, body: {} });
    const canceled = hook(await hooks.waitFor(isTerminalHook('/endless')));
    expect(canceled.status).toBe('canceled');
    const atCancel = canceled.metrics.transformer_calls_at_cancel!;
    const calls = canceled.metrics.transformer_calls!;
    reportFigures('cancel', {
      calls_in_webhook_seen: midEdit.progress!.transformer_calls,
      calls_at_cancel: atCancel,
      calls_total: calls,
      calls_after_cancel: calls - atCancel,
    });
    // The call running when the cancel came may finish; none starts after it.
    expect(calls - atCancel).toBeGreaterThanOrEqual(0);
    expect(calls - atCancel).toBeLessThanOrEqual(1);
    expect(atCancel).toBeGreaterThanOrEqual(midEdit.progress!.transformer_calls);
    expect(canceled.progress!.phase).toBe('transport');
    expect(canceled.logs).toContain(`cancel requested after ${atCancel} transformer calls`);
    expect(canceled.logs).not.toContain('sampling');
    expect(canceled.output).toBeNull();

    expect(await health()).toBe('READY');
    const next = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect([next.status, prediction(next).status]).toEqual([200, 'succeeded']);
    // Canceling a finished prediction is harmless.
    expect((await call(`${server.url}/predictions/endless/cancel`, 'POST')).status).toBe(200);
  });

  it('cancels a synchronous prediction whose client hung up', async () => {
    const client = new AbortController();
    const body = JSON.stringify({ id: 'hung-up', input: await editInput(EDITS.endless) });
    const pending = send(`${server.url}/predictions`, 'POST', body, {}, client.signal).catch(
      (error: Error) => error.name,
    );
    await server.waitForLog(/prediction hung-up: processing/);
    client.abort();
    expect(await pending).toBe('AbortError');
    await server.waitForLog(/prediction hung-up: canceled/);
    expect(await health()).toBe('READY');
  });
});
