/**
 * The service end to end, driven from inside workerd over loopback HTTP: the edge under wrangler
 * dev with the S3 store on a real radosgw, the real GPU function with the demo bundle, customer
 * webhooks to a local receiver verified with `standardwebhooks`. Upload (signed PUT to S3) ->
 * edit -> progress (SSE) -> result downloaded and checked (every pixel outside B identical to the
 * input) -> webhooks -> one capture. The same round trip through the replicate dispatcher and a
 * labelled fake of Replicate's API. Faults: the GPU function killed mid-edit, the webhook
 * receiver down then back, 20 concurrent submits with one Idempotency-Key.
 */
import { PROGRESS_PHASES, type ProgressPhase } from '@dragflow/shared/job';
import { Webhook } from 'standardwebhooks';
import { describe, expect, inject, it } from 'vitest';
import { decodePng, encodePng, type RgbImage } from '../support/png.ts';

const stack = inject('e2e');
const SIZE = 128;
/** Few iterations: the demo bundle on CPU, and the machine is shared. */
const QUICK = { steps: 4, skip_steps: 1, transport_iterations: 4, intensify_iterations: 2 };

interface Account {
  key: string;
  secret: string;
}

interface Edit {
  id: string;
  status: string;
  output: { image: string; editable_mask?: string } | null;
  error: { code: string; message: string } | null;
  metrics: Record<string, number>;
}

interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** A red disk on sky over meadow. */
function scene(): RgbImage {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const disk = (x - 40) ** 2 + (y - 60) ** 2 < 225;
      const colour = disk ? [220, 40, 40] : y < 80 ? [120, 170, 230] : [60, 140, 60];
      rgb.set(colour, (y * SIZE + x) * 3);
    }
  }
  return { width: SIZE, height: SIZE, rgb };
}

const operations = [
  {
    kind: 'relocate',
    source: {
      polygons: [
        [
          [25, 45],
          [55, 45],
          [55, 75],
          [25, 75],
        ],
      ],
    },
    target: [90, 60],
  },
];

async function newAccount(edgeUrl: string, credits = 1000): Promise<Account> {
  const response = await fetch(`${edgeUrl}/admin/accounts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'e2e', credits, rate_limit_per_minute: 100_000 }),
  });
  expect(response.status).toBe(201);
  const created = (await response.json()) as { api_key: { key: string }; webhook_secret: string };
  return { key: created.api_key.key, secret: created.webhook_secret };
}

function api(
  edgeUrl: string,
  account: Account,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${edgeUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${account.key}`, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Reads the edit's event stream to its end (after the terminal status). */
async function events(
  edgeUrl: string,
  account: Account,
  id: string,
  until?: (event: SseEvent) => boolean,
): Promise<SseEvent[]> {
  const response = await api(edgeUrl, account, 'GET', `/v1/edits/${id}/events`);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: SseEvent[] = [];
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return seen;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const field = (name: string) =>
        frame
          .split('\n')
          .find((line) => line.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      const data = field('data');
      if (data === undefined) continue;
      const event = { id: Number(field('id')), event: field('event')!, data: JSON.parse(data) };
      seen.push(event);
      if (until?.(event)) {
        await reader.cancel();
        return seen;
      }
    }
  }
}

async function bytesOf(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

interface PixelCheck {
  outside: number;
  outsideChanged: number;
  insideChanged: number;
}

/** Compares the result with the input outside and inside the mask B (white = editable). */
async function checkPixels(input: RgbImage, edit: Edit): Promise<PixelCheck> {
  const result = await decodePng(await bytesOf(edit.output!.image));
  const mask = await decodePng(await bytesOf(edit.output!.editable_mask!));
  expect([result.width, result.height, mask.width, mask.height]).toEqual([SIZE, SIZE, SIZE, SIZE]);
  const check = { outside: 0, outsideChanged: 0, insideChanged: 0 };
  for (let i = 0; i < SIZE * SIZE; i++) {
    const same = [0, 1, 2].every((c) => result.rgb[i * 3 + c] === input.rgb[i * 3 + c]);
    if (mask.rgb[i * 3]! < 128) {
      check.outside += 1;
      if (!same) check.outsideChanged += 1;
    } else if (!same) {
      check.insideChanged += 1;
    }
  }
  return check;
}

async function received(
  name: string,
): Promise<{ headers: Record<string, string>; body: string; answered: number }[]> {
  return (await (await fetch(`${stack.receiverUrl}/_received/${name}`)).json()) as {
    headers: Record<string, string>;
    body: string;
    answered: number;
  }[];
}

async function waitForWebhooks(name: string, type: string) {
  for (let i = 0; i < 2400; i++) {
    const list = await received(name);
    if (list.some((delivery) => delivery.answered === 200 && JSON.parse(delivery.body).type === type))
      return list;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no ${type} webhook at ${name}`);
}

async function ledgerOf(edgeUrl: string, account: Account, id: string): Promise<string[]> {
  const usage = (await (await api(edgeUrl, account, 'GET', '/v1/usage')).json()) as {
    ledger: { edit_id: string | null; kind: string; amount: number }[];
  };
  return usage.ledger
    .filter((line) => line.edit_id === id)
    .map((line) => `${line.kind} ${line.amount}`)
    .reverse();
}

function report(name: string, figures: Record<string, unknown>): void {
  console.log(`[e2e] ${name}: ${JSON.stringify(figures)}`);
}

describe('end to end through the cog dispatcher', () => {
  it('uploads, edits, streams progress, returns a result equal to the input outside B, signs webhooks, captures once', async () => {
    const edge = stack.edgeUrl;
    const account = await newAccount(edge);
    const input = scene();
    const png = await encodePng(input);

    const upload = (await (
      await api(edge, account, 'POST', '/v1/uploads', { content_type: 'image/png' })
    ).json()) as {
      id: string;
      upload_url: string;
    };
    expect(upload.upload_url).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/dragflow-e2e\/uploads\/.*X-Amz-Signature=/,
    );
    const put = await fetch(upload.upload_url, {
      method: 'PUT',
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    expect(put.status).toBe(200);

    const submitted = await api(edge, account, 'POST', '/v1/edits', {
      image: { upload: upload.id },
      operations,
      options: { ...QUICK, preview_interval: 2 },
      webhook: `${stack.receiverUrl}/hooks/e2e-cog`,
      metadata: { case: 'round trip' },
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as Edit;

    const stream = await events(edge, account, id);
    const statuses = stream.filter((event) => event.event === 'status').map((event) => event.data.status);
    expect(statuses).toEqual(['queued', 'starting', 'processing', 'succeeded']);
    const progress = stream
      .filter((event) => event.event === 'progress')
      .map((event) => event.data.progress as { phase: string; step: number; total: number });
    expect(progress.length).toBeGreaterThan(0);
    // Non-terminal reports are throttled to one per 500 ms (Cog), so how many phases show depends on
    // the machine's speed; what must hold is that they come in the pipeline's order, each step in range.
    const order = progress.map((p) => PROGRESS_PHASES.indexOf(p.phase as ProgressPhase));
    expect(order.every((index, i) => index >= 0 && (i === 0 || index >= order[i - 1]!))).toBe(true);
    expect(progress.every((p) => p.step >= 0 && p.step <= p.total)).toBe(true);
    // Previews ride on the throttled progress reports, so which of them reach the stream also depends on
    // speed (the GPU conformance suite pins that every preview file is uploaded); each one that does
    // arrive is a signed URL of a small PNG.
    const previews = stream.flatMap((event) =>
      event.event === 'progress' ? (event.data.previews as string[]) : [],
    );
    for (const url of previews) expect((await decodePng(await bytesOf(url))).width).toBeGreaterThan(0);

    const edit = (await (await api(edge, account, 'GET', `/v1/edits/${id}`)).json()) as Edit;
    expect(edit.status).toBe('succeeded');
    expect(edit.output!.image).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dragflow-e2e\/gpu\/.*X-Amz-Signature=/);
    expect(edit.metrics.transformer_calls).toBeGreaterThan(0);
    expect(edit.metrics.charged_credits).toBe(10);
    const pixels = await checkPixels(input, edit);
    report('cog round trip', {
      progress_events: progress.length,
      previews: previews.length,
      ...pixels,
      metrics: edit.metrics,
    });
    expect(pixels.outside).toBeGreaterThan(0);
    expect(pixels.outsideChanged).toBe(0);
    expect(pixels.insideChanged).toBeGreaterThan(0);

    const webhooks = await waitForWebhooks('e2e-cog', 'edit.succeeded');
    const verified = webhooks.map(
      (delivery) =>
        new Webhook(account.secret).verify(delivery.body, delivery.headers) as {
          type: string;
          data: { id: string };
        },
    );
    const types = verified.map((event) => event.type);
    expect(types[0]).toBe('edit.started');
    expect(types.at(-1)).toBe('edit.succeeded');
    expect(types.slice(1, -1).every((type) => type === 'edit.progress')).toBe(true);
    expect(verified.every((event) => event.data.id === id)).toBe(true);

    expect(await ledgerOf(edge, account, id)).toEqual(['hold 10', 'capture 10']);
  });

  it('survives the GPU function killed mid-edit: re-dispatched once, one result, one capture', async () => {
    const edge = stack.edgeUrl;
    const account = await newAccount(edge);
    const input = scene();
    const submitted = await api(edge, account, 'POST', '/v1/edits', {
      image: { data: `data:image/png;base64,${btoa(String.fromCharCode(...(await encodePng(input))))}` },
      operations,
      options: { ...QUICK, transport_iterations: 30 },
    });
    const { id } = (await submitted.json()) as Edit;
    await events(edge, account, id, (event) => event.event === 'progress');
    expect((await fetch(`${stack.controlUrl}/gpu/kill`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${stack.controlUrl}/gpu/restart`, { method: 'POST' })).status).toBe(200);
    const stream = await events(edge, account, id);
    const notes = stream
      .filter((event) => event.data.note !== undefined)
      .map((event) => event.data.note as string);
    expect(notes).toEqual([
      're-dispatched: the GPU function was silent for more than 45 s or ran past 3600 s',
    ]);
    const edit = (await (await api(edge, account, 'GET', `/v1/edits/${id}`)).json()) as Edit;
    expect(edit.status).toBe('succeeded');
    const pixels = await checkPixels(input, edit);
    report('GPU killed mid-edit', {
      statuses: stream.filter((e) => e.event === 'status').map((e) => e.data.status),
      ...pixels,
    });
    expect(pixels.outsideChanged).toBe(0);
    expect(await ledgerOf(edge, account, id)).toEqual(['hold 10', 'capture 10']);
  });

  it('delivers every webhook in order after the receiver comes back, each webhook-id once', async () => {
    const edge = stack.edgeUrl;
    const account = await newAccount(edge);
    await fetch(`${stack.receiverUrl}/_behaviour/e2e-flaky`, {
      method: 'POST',
      body: JSON.stringify({ failFirst: 3, status: 503 }),
    });
    const submitted = await api(edge, account, 'POST', '/v1/edits', {
      image: { data: `data:image/png;base64,${btoa(String.fromCharCode(...(await encodePng(scene()))))}` },
      operations,
      options: QUICK,
      webhook: `${stack.receiverUrl}/hooks/e2e-flaky`,
    });
    const { id } = (await submitted.json()) as Edit;
    await events(edge, account, id);
    const list = await waitForWebhooks('e2e-flaky', 'edit.succeeded');
    const answered = list.map(
      (delivery) =>
        `${(new Webhook(account.secret).verify(delivery.body, delivery.headers) as { type: string }).type} ${delivery.answered}`,
    );
    report('receiver down then back', { deliveries: answered });
    expect(answered.slice(0, 4)).toEqual([
      'edit.started 503',
      'edit.started 503',
      'edit.started 503',
      'edit.started 200',
    ]);
    const delivered = list.filter((delivery) => delivery.answered === 200);
    const ids = delivered.map((delivery) => delivery.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    const types = delivered.map((delivery) => (JSON.parse(delivery.body) as { type: string }).type);
    expect(types[0]).toBe('edit.started');
    expect(types.at(-1)).toBe('edit.succeeded');
    const deliveries = (await (
      await api(edge, account, 'GET', `/v1/edits/${id}/webhook-deliveries`)
    ).json()) as {
      deliveries: { state: string }[];
    };
    expect(deliveries.deliveries.every((delivery) => delivery.state === 'delivered')).toBe(true);
  });

  it('turns 20 concurrent submits with one Idempotency-Key into one edit and one hold', async () => {
    const edge = stack.edgeUrl;
    const account = await newAccount(edge);
    const body = {
      image: { data: `data:image/png;base64,${btoa(String.fromCharCode(...(await encodePng(scene()))))}` },
      operations,
      options: QUICK,
    };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api(edge, account, 'POST', '/v1/edits', body, { 'idempotency-key': 'e2e-once' }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(new Array(20).fill(202));
    const ids = new Set(
      await Promise.all(responses.map(async (response) => ((await response.json()) as Edit).id)),
    );
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    await events(edge, account, id!);
    expect(await ledgerOf(edge, account, id!)).toEqual(['hold 10', 'capture 10']);
  });
});

describe('end to end through the replicate dispatcher (labelled fake of Replicate in front of the real GPU function)', () => {
  it('runs the same round trip: outputs fetched from the host, pixels outside B identical, one capture', async () => {
    const edge = stack.edgeReplicateUrl;
    const account = await newAccount(edge);
    const input = scene();
    const submitted = await api(edge, account, 'POST', '/v1/edits', {
      image: { data: `data:image/png;base64,${btoa(String.fromCharCode(...(await encodePng(input))))}` },
      operations,
      options: QUICK,
      webhook: `${stack.receiverUrl}/hooks/e2e-replicate`,
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as Edit;
    const stream = await events(edge, account, id);
    expect(stream.filter((event) => event.event === 'status').map((event) => event.data.status)).toEqual([
      'queued',
      'starting',
      'processing',
      'succeeded',
    ]);
    const edit = (await (await api(edge, account, 'GET', `/v1/edits/${id}`)).json()) as Edit;
    expect(edit.output!.image).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/dragflow-e2e-replicate\/outputs\/.*X-Amz-Signature=/,
    );
    const pixels = await checkPixels(input, edit);
    report('replicate round trip', {
      progress_events: stream.filter((e) => e.event === 'progress').length,
      ...pixels,
    });
    expect(pixels.outsideChanged).toBe(0);
    expect(pixels.insideChanged).toBeGreaterThan(0);
    const webhooks = await waitForWebhooks('e2e-replicate', 'edit.succeeded');
    for (const delivery of webhooks) new Webhook(account.secret).verify(delivery.body, delivery.headers);
    expect(await ledgerOf(edge, account, id)).toEqual(['hold 10', 'capture 10']);
  });
});
