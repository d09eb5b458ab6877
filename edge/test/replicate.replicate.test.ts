/**
 * The `replicate` dispatcher: the real replicate npm client inside workerd, pointed (baseUrl) at a
 * labelled FAKE of Replicate's HTTP API. Creation with the webhook and events filter, signed
 * webhooks verified (forged and stale ones refused, a replayed webhook-id refused), progress from
 * the log lines, outputs fetched from the host's URLs, cancel forwarded.
 */
import { describe, expect, inject, it } from 'vitest';
import { api, call, editRequest, json, newAccount } from './support/api.ts';
import { waitFor } from './support/gpu.ts';

interface FakeRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
  authorization: string;
}

const fake = () => inject('fakeReplicateUrl');

async function requests(): Promise<FakeRequest[]> {
  return (await (await fetch(`${fake()}/_requests`)).json()) as FakeRequest[];
}

interface SignedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
}

async function signedWebhook(id: string, fields: Record<string, unknown>): Promise<SignedWebhook> {
  const response = await fetch(`${fake()}/_signed/${id}`, { method: 'POST', body: JSON.stringify(fields) });
  return (await response.json()) as SignedWebhook;
}

function post(webhook: SignedWebhook): Promise<Response> {
  const url = new URL(webhook.url);
  return call(`${url.pathname}${url.search}`, {
    method: 'POST',
    headers: webhook.headers,
    body: webhook.body,
  });
}

async function predictionFor(
  editId: string,
): Promise<{ id: string; webhook: string; input: Record<string, unknown> }> {
  return waitFor(`Replicate prediction of ${editId}`, async () => {
    const list = (await (await fetch(`${fake()}/_predictions`)).json()) as {
      id: string;
      webhook: string;
      input: Record<string, unknown>;
    }[];
    return list.find((prediction) => prediction.webhook.includes(`/${editId}/`));
  });
}

describe('replicate dispatch', () => {
  it('creates the prediction with the client, verifies signed webhooks, and finishes the edit', async () => {
    const account = await newAccount();
    const submitted = await api(account, 'POST', '/v1/edits', editRequest());
    expect(submitted.status).toBe(202);
    const { id } = await json<{ id: string }>(submitted);
    const prediction = await predictionFor(id);
    expect(prediction.webhook).toMatch(
      new RegExp(`^http://edge\\.test/internal/callbacks/replicate/${id}/1\\?secret=`),
    );
    expect((prediction.input.image as { url: string }).url).toMatch(/^http:\/\/edge\.test\/files\/inputs\//);
    const create = (await requests()).find(
      (r) => r.method === 'POST' && r.body?.webhook === prediction.webhook,
    )!;
    expect(create.path).toBe('/v1/models/dragflow/dragflow-edit/predictions');
    expect(create.authorization).toBe('Bearer r8_fake_token_for_tests');
    expect(create.body.webhook_events_filter).toEqual(['start', 'output', 'logs', 'completed']);

    const started = await post(
      await signedWebhook(prediction.id, {
        status: 'processing',
        logs: 'preparing 1/1, 0 transformer calls\n',
      }),
    );
    expect(started.status).toBe(200);
    const progress = await post(
      await signedWebhook(prediction.id, {
        status: 'processing',
        logs: 'preparing 1/1, 0 transformer calls\ntransport 10/50 loss 1.234e-1, 31 transformer calls\n',
      }),
    );
    expect(progress.status).toBe(200);
    expect(
      (await json<{ progress: unknown }>(await api(account, 'GET', `/v1/edits/${id}`))).progress,
    ).toEqual({
      phase: 'transport',
      step: 10,
      total: 50,
      loss: 0.1234,
    });

    // Outputs as Replicate hosts them: URLs on its own host, fetched by the edge into its store.
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 42]);
    const hosted = await fetch(`${fake()}/_files/output.png`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'image/png' },
    });
    const image = hosted.headers.get('location')!;
    const done = await signedWebhook(prediction.id, {
      status: 'succeeded',
      output: { image, previews: [] },
      metrics: { predict_time: 3.5, total_time: 4 },
    });
    const finished = await post(done);
    expect(finished.status).toBe(200);
    const edit = await json<{ status: string; metrics: Record<string, number>; output: { image: string } }>(
      await api(account, 'GET', `/v1/edits/${id}`),
    );
    expect(edit.status).toBe('succeeded');
    expect(edit.metrics).toMatchObject({ predict_time: 3.5, charged_credits: 10 });
    const stored = await call(new URL(edit.output.image).pathname + new URL(edit.output.image).search);
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(bytes);

    // The same webhook again (same webhook-id): refused as a replay.
    const again = await post(done);
    expect(again.status).toBe(409);
    expect(await json(again)).toEqual({
      code: 'callback_replayed',
      message: 'this callback was already processed',
    });
  });

  it('refuses forged, stale and unsigned webhooks', async () => {
    const account = await newAccount();
    const { id } = await json<{ id: string }>(await api(account, 'POST', '/v1/edits', editRequest()));
    const prediction = await predictionFor(id);
    const forged = await post(
      await signedWebhook(prediction.id, { status: 'failed', error: 'x', badSignature: true }),
    );
    expect([forged.status, await json(forged)]).toEqual([
      401,
      { code: 'callback_rejected', message: 'Replicate webhook signature check failed (bad_signature)' },
    ]);
    const stale = await post(
      await signedWebhook(prediction.id, { status: 'failed', error: 'x', timestampOffsetS: -600 }),
    );
    expect([stale.status, await json(stale)]).toEqual([
      409,
      { code: 'callback_replayed', message: 'webhook-timestamp is more than 5 minutes away from now' },
    ]);
    const webhook = await signedWebhook(prediction.id, { status: 'failed', error: 'x' });
    const unsigned = await post({ ...webhook, headers: { 'content-type': 'application/json' } });
    expect([unsigned.status, (await json(unsigned)).code]).toEqual([401, 'callback_rejected']);
    const edit = await json<{ status: string }>(await api(account, 'GET', `/v1/edits/${id}`));
    expect(edit.status).toBe('starting');
  });

  it('forwards a cancel to Replicate', async () => {
    const account = await newAccount();
    const { id } = await json<{ id: string }>(await api(account, 'POST', '/v1/edits', editRequest()));
    const prediction = await predictionFor(id);
    expect((await api(account, 'POST', `/v1/edits/${id}/cancel`)).status).toBe(200);
    const state = (await (await fetch(`${fake()}/_predictions`)).json()) as { id: string; status: string }[];
    expect(state.find((p) => p.id === prediction.id)?.status).toBe('canceled');
  });
});
