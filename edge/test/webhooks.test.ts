/**
 * Customer webhooks: Standard Webhooks signatures checked with the `standardwebhooks` library,
 * events in order, the events filter, a receiver that is down and comes back (retries with the
 * same webhook-id, still in order), 410 stopping deliveries, deliveries visible through the API;
 * and the SSE stream with Last-Event-ID replay.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, inject, it } from 'vitest';
import { api, editRequest, json, newAccount, type TestAccount } from './support/api.ts';
import {
  postCallback,
  prediction,
  progressReport,
  succeeded,
  waitFor,
  waitForDispatch,
} from './support/gpu.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
  answered: number;
}

const receiver = () => inject('receiverUrl');

async function received(name: string): Promise<Received[]> {
  return (await (await fetch(`${receiver()}/_received/${name}`)).json()) as Received[];
}

async function receiverFails(name: string, failFirst: number, status: number): Promise<void> {
  await fetch(`${receiver()}/_behaviour/${name}`, {
    method: 'POST',
    body: JSON.stringify({ failFirst, status }),
  });
}

interface Delivery {
  webhook_id: string;
  type: string;
  state: string;
  attempts: { status: number | null }[];
}

async function deliveries(account: TestAccount, editId: string): Promise<Delivery[]> {
  return (
    await json<{ deliveries: Delivery[] }>(
      await api(account, 'GET', `/v1/edits/${editId}/webhook-deliveries`),
    )
  ).deliveries;
}

const IMAGE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 9]);

/** Runs an edit through start, two progress reports and success, with the webhook at `/hooks/{name}`. */
async function runEdit(
  account: TestAccount,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await api(
    account,
    'POST',
    '/v1/edits',
    editRequest({ webhook: `${receiver()}/hooks/${name}`, ...extra }),
  );
  expect(response.status).toBe(202);
  const { id } = await json<{ id: string }>(response);
  const gpu = await waitForDispatch(id);
  await postCallback(gpu.callback, prediction(gpu.predictionId, 'processing'));
  await postCallback(gpu.callback, progressReport(gpu.predictionId, 'transport', 10, 50));
  await postCallback(gpu.callback, progressReport(gpu.predictionId, 'transport', 11, 50));
  expect((await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, IMAGE))).status).toBe(
    200,
  );
  return id;
}

function verified(
  account: TestAccount,
  delivery: Received,
): { type: string; data: { id: string; status: string } } {
  return new Webhook(account.webhookSecret).verify(delivery.body, delivery.headers) as {
    type: string;
    data: { id: string; status: string };
  };
}

describe('customer webhooks', () => {
  it('delivers signed events in order; standardwebhooks verifies every one', async () => {
    const account = await newAccount();
    const id = await runEdit(account, 'ordered');
    const list = await waitFor('three deliveries', async () => {
      const got = await received('ordered');
      return got.length >= 3 ? got : undefined;
    });
    const events = list.map((delivery) => verified(account, delivery));
    // The second progress came within PROGRESS_WEBHOOK_INTERVAL_S of the first: throttled.
    expect(events.map((event) => `${event.type} ${event.data.status}`)).toEqual([
      'edit.started processing',
      'edit.progress processing',
      'edit.succeeded succeeded',
    ]);
    expect(events.every((event) => event.data.id === id)).toBe(true);
    expect(list.map((delivery) => delivery.headers['webhook-id'])).toEqual([
      expect.stringMatching(new RegExp(`^msg_${id}_\\d+$`)),
      expect.stringMatching(new RegExp(`^msg_${id}_\\d+$`)),
      expect.stringMatching(new RegExp(`^msg_${id}_\\d+$`)),
    ]);
    // A signature from another secret does not verify.
    expect(() =>
      new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(list[0]!.body, list[0]!.headers),
    ).toThrow('No matching signature found');
    const visible = await deliveries(account, id);
    expect(
      visible.map((delivery) => [delivery.type, delivery.state, delivery.attempts.map((a) => a.status)]),
    ).toEqual([
      ['edit.started', 'delivered', [200]],
      ['edit.progress', 'delivered', [200]],
      ['edit.succeeded', 'delivered', [200]],
    ]);
  });

  it('sends only the filtered events', async () => {
    const account = await newAccount();
    const id = await runEdit(account, 'filtered', { webhook_events_filter: ['completed'] });
    const list = await waitFor('one delivery', async () => {
      const got = await received('filtered');
      return got.length >= 1 ? got : undefined;
    });
    expect(list.map((delivery) => verified(account, delivery).type)).toEqual(['edit.succeeded']);
    expect((await deliveries(account, id)).map((delivery) => delivery.type)).toEqual(['edit.succeeded']);
  });

  it('retries a receiver that is down until it answers, in event order, with stable webhook ids', async () => {
    const account = await newAccount();
    await receiverFails('flaky', 4, 503);
    const id = await runEdit(account, 'flaky');
    const list = await waitFor(
      'all deliveries',
      async () => {
        const got = await received('flaky');
        return got.filter((delivery) => delivery.answered === 200).length >= 3 ? got : undefined;
      },
      1200,
    );
    // Four 503s on the first event (then 200 on the fifth try), the later ones only after it.
    expect(list.map((delivery) => `${verified(account, delivery).type} ${delivery.answered}`)).toEqual([
      'edit.started 503',
      'edit.started 503',
      'edit.started 503',
      'edit.started 503',
      'edit.started 200',
      'edit.progress 200',
      'edit.succeeded 200',
    ]);
    const ids = list.map((delivery) => delivery.headers['webhook-id']);
    expect(new Set(ids.slice(0, 5)).size).toBe(1);
    // A receiver deduping on webhook-id sees each event once.
    expect(new Set(ids).size).toBe(3);
    const visible = await deliveries(account, id);
    expect(visible.map((delivery) => [delivery.type, delivery.attempts.map((a) => a.status)])).toEqual([
      ['edit.started', [503, 503, 503, 503, 200]],
      ['edit.progress', [200]],
      ['edit.succeeded', [200]],
    ]);
  });

  it('keeps taking GPU callbacks while a receiver hangs on a delivery', async () => {
    const account = await newAccount();
    await fetch(`${receiver()}/_behaviour/hanging`, { method: 'POST', body: JSON.stringify({ hold: true }) });
    const response = await api(
      account,
      'POST',
      '/v1/edits',
      editRequest({ webhook: `${receiver()}/hooks/hanging` }),
    );
    const { id } = await json<{ id: string }>(response);
    const gpu = await waitForDispatch(id);
    await postCallback(gpu.callback, prediction(gpu.predictionId, 'processing'));
    // edit.started is now out to the receiver, which does not answer.
    await waitFor('the held delivery', async () =>
      (await received('hanging')).length === 0 ? undefined : true,
    );
    const done = await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, IMAGE));
    expect(done.status).toBe(200);
    expect((await json<{ status: string }>(await api(account, 'GET', `/v1/edits/${id}`))).status).toBe(
      'succeeded',
    );
    expect(await json(await fetch(`${receiver()}/_release/hanging`, { method: 'POST' }))).toEqual({
      released: 1,
    });
    const list = await waitFor('both deliveries', async () => {
      const got = await received('hanging');
      return got.length >= 2 ? got : undefined;
    });
    expect(list.map((delivery) => verified(account, delivery).type)).toEqual([
      'edit.started',
      'edit.succeeded',
    ]);
  });

  it('stops delivering after a 410', async () => {
    const account = await newAccount();
    await receiverFails('gone', 100, 410);
    const id = await runEdit(account, 'gone');
    const visible = await waitFor('abandoned deliveries', async () => {
      const list = await deliveries(account, id);
      return list.length === 3 && list.every((delivery) => delivery.state !== 'pending') ? list : undefined;
    });
    expect(visible.map((delivery) => [delivery.type, delivery.state, delivery.attempts.length])).toEqual([
      ['edit.started', 'abandoned', 1],
      ['edit.progress', 'abandoned', 0],
      ['edit.succeeded', 'abandoned', 0],
    ]);
    expect((await received('gone')).length).toBe(1);
  });
});

interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.includes('data: '))
    .map((frame) => {
      const field = (name: string) =>
        frame
          .split('\n')
          .find((line) => line.startsWith(`${name}: `))!
          .slice(name.length + 2);
      return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) };
    });
}

describe('events stream', () => {
  it('streams status and progress, ends after the terminal status, and replays from Last-Event-ID', async () => {
    const account = await newAccount();
    const id = await runEdit(account, 'sse-unused');
    const stream = await api(account, 'GET', `/v1/edits/${id}/events`);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = parseSse(await stream.text());
    expect(
      events.map(
        (event) =>
          `${event.event} ${(event.data.status as string) ?? (event.data.progress as { step: number }).step}`,
      ),
    ).toEqual([
      'status queued',
      'status starting',
      'status processing',
      'progress 10',
      'progress 11',
      'status succeeded',
    ]);
    expect(events.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[3]!.data).toEqual({
      progress: { phase: 'transport', step: 10, total: 50, loss: 0.5 },
      previews: [],
    });
    const replay = await api(account, 'GET', `/v1/edits/${id}/events`, undefined, { 'last-event-id': '4' });
    expect(parseSse(await replay.text()).map((event) => event.id)).toEqual([5, 6]);
    const bad = await api(account, 'GET', `/v1/edits/${id}/events`, undefined, { 'last-event-id': 'x' });
    expect(await json(bad)).toEqual({
      code: 'invalid_header',
      message: 'Last-Event-ID must be the id of an event received before (digits)',
    });
  });

  it('delivers live events to an open stream', async () => {
    const account = await newAccount();
    const response = await api(account, 'POST', '/v1/edits', editRequest());
    const { id } = await json<{ id: string }>(response);
    const gpu = await waitForDispatch(id);
    const stream = await api(account, 'GET', `/v1/edits/${id}/events`);
    const text = stream.text();
    await postCallback(gpu.callback, prediction(gpu.predictionId, 'processing'));
    await postCallback(gpu.callback, progressReport(gpu.predictionId, 'sampling', 4, 19, null));
    await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, IMAGE));
    const events = parseSse(await text);
    expect(events.map((event) => event.event)).toEqual(['status', 'status', 'status', 'progress', 'status']);
    expect(events.at(-1)!.data.status).toBe('succeeded');
  });
});
