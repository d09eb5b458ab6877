/**
 * An edit's life through the API, with the GPU function played by the test (fake Cog server +
 * callbacks posted by hand): submit, hold, dispatch, progress, result, capture; duplicate,
 * out-of-order, forged and replayed callbacks; cancel before and after start, cancel racing
 * completion; Idempotency-Key under 20 concurrent submits; 402.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { editStub } from '../src/edits/edit-stub.ts';
import { api, call, editRequest, json, newAccount, type TestAccount } from './support/api.ts';
import {
  type Dispatched,
  postCallback,
  prediction,
  progressReport,
  succeeded,
  waitFor,
  waitForDispatch,
} from './support/gpu.ts';

interface Edit {
  id: string;
  status: string;
  progress: { phase: string; step: number; total: number; loss: number | null } | null;
  output: { image: string; editable_mask?: string; previews: string[] } | null;
  error: { code: string; message: string } | null;
  metrics: Record<string, number>;
  urls: Record<string, string>;
}

interface Usage {
  available_credits: number;
  held_credits: number;
  ledger: { edit_id: string | null; kind: string; amount: number }[];
}

async function submit(account: TestAccount, body = editRequest(), headers: Record<string, string> = {}) {
  const response = await api(account, 'POST', '/v1/edits', body, headers);
  expect(response.status).toBe(202);
  return json<Edit>(response);
}

async function getEdit(account: TestAccount, id: string): Promise<Edit> {
  return json<Edit>(await api(account, 'GET', `/v1/edits/${id}`));
}

async function usage(account: TestAccount): Promise<Usage> {
  return json<Usage>(await api(account, 'GET', '/v1/usage'));
}

function linesOf(u: Usage, editId: string): string[] {
  return u.ledger
    .filter((line) => line.edit_id === editId)
    .map((line) => `${line.kind} ${line.amount}`)
    .reverse();
}

const IMAGE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
const MASK = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 4, 5, 6]);

async function started(account: TestAccount): Promise<{ edit: Edit; gpu: Dispatched }> {
  const edit = await submit(account);
  const gpu = await waitForDispatch(edit.id);
  const start = await postCallback(gpu.callback, prediction(gpu.predictionId, 'processing'));
  expect(start.status).toBe(200);
  return { edit, gpu };
}

describe('an edit from submit to result', () => {
  it('holds on submit, dispatches signed input URLs, reports progress, captures once on success', async () => {
    const account = await newAccount(1000);
    const edit = await submit(account, editRequest({ metadata: { order: 7 } }));
    expect(edit.status).toBe('queued');
    expect(edit.metrics).toEqual({ price_credits: 10, charged_credits: 0 });
    expect(edit.urls).toEqual({
      get: `http://edge.test/v1/edits/${edit.id}`,
      cancel: `http://edge.test/v1/edits/${edit.id}/cancel`,
      events: `http://edge.test/v1/edits/${edit.id}/events`,
      webhook_deliveries: `http://edge.test/v1/edits/${edit.id}/webhook-deliveries`,
    });
    expect(await usage(account)).toMatchObject({ available_credits: 990, held_credits: 10 });

    const gpu = await waitForDispatch(edit.id);
    expect(gpu.body.webhook_events_filter).toEqual(['start', 'output', 'logs', 'completed']);
    expect(gpu.callback).toMatch(
      new RegExp(`^/internal/callbacks/cog/${edit.id}/1\\?secret=[A-Za-z0-9_-]{32}$`),
    );
    // The image reaches the GPU function as a signed GET URL, the customer's metadata does not.
    const image = gpu.input.image as { url: string; content_type: string };
    expect(image.content_type).toBe('image/png');
    expect(image.url).toMatch(
      new RegExp(`^http://edge.test/files/inputs/${edit.id}/image\\?expires=\\d+&signature=`),
    );
    expect(gpu.input.metadata).toBeUndefined();
    const input = await call(image.url.slice('http://edge.test'.length));
    expect(input.status).toBe(200);
    expect((await input.arrayBuffer()).byteLength).toBe(33);
    expect((await getEdit(account, edit.id)).status).toBe('starting');

    expect((await postCallback(gpu.callback, prediction(gpu.predictionId, 'processing'))).status).toBe(200);
    expect((await getEdit(account, edit.id)).status).toBe('processing');
    const progress = await postCallback(
      gpu.callback,
      progressReport(gpu.predictionId, 'transport', 10, 50, 0.25),
    );
    expect(await json(progress)).toEqual({ outcome: 'applied', detail: 'edit is running' });
    expect((await getEdit(account, edit.id)).progress).toEqual({
      phase: 'transport',
      step: 10,
      total: 50,
      loss: 0.25,
    });

    const done = await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, MASK));
    expect(done.status).toBe(200);
    const finished = await getEdit(account, edit.id);
    expect(finished.status).toBe('succeeded');
    expect(finished.metrics).toMatchObject({
      predict_time: 1.5,
      transformer_calls: 108,
      price_credits: 10,
      charged_credits: 10,
    });
    expect(finished.metrics.total_time).toBeGreaterThanOrEqual(0);
    const result = await call(finished.output!.image.slice('http://edge.test'.length));
    expect(new Uint8Array(await result.arrayBuffer())).toEqual(IMAGE);
    const mask = await call(finished.output!.editable_mask!.slice('http://edge.test'.length));
    expect(new Uint8Array(await mask.arrayBuffer())).toEqual(MASK);

    const after = await usage(account);
    expect(after).toMatchObject({ available_credits: 990, held_credits: 0 });
    expect(linesOf(after, edit.id)).toEqual(['hold 10', 'capture 10']);
  });

  it('refuses a result URL once its signature is altered', async () => {
    const account = await newAccount();
    const edit = await submit(account);
    const gpu = await waitForDispatch(edit.id);
    const url = new URL((gpu.input.image as { url: string }).url);
    url.searchParams.set('signature', 'x'.repeat(43));
    const response = await call(`${url.pathname}${url.search}`);
    expect(response.status).toBe(401);
    expect(await json(response)).toEqual({
      code: 'unauthorized',
      message: 'this URL is not signed for this file and method',
    });
  });
});

describe('GPU callbacks', () => {
  it('makes duplicate and out-of-order callbacks harmless: one result, one capture', async () => {
    const account = await newAccount();
    const { edit, gpu } = await started(account);
    expect(
      (await postCallback(gpu.callback, progressReport(gpu.predictionId, 'intensify', 5, 20))).status,
    ).toBe(200);
    // An older progress arriving late changes nothing.
    const older = await postCallback(gpu.callback, progressReport(gpu.predictionId, 'transport', 40, 50));
    expect(await json(older)).toEqual({ outcome: 'ignored', detail: 'nothing newer than known' });
    expect((await getEdit(account, edit.id)).progress).toMatchObject({ phase: 'intensify', step: 5 });
    const result = await succeeded(gpu.predictionId, IMAGE, MASK);
    expect((await postCallback(gpu.callback, result)).status).toBe(200);
    // The same terminal callback again (Cog retries it), and progress after the end.
    const again = await postCallback(gpu.callback, result);
    expect(again.status).toBe(409);
    expect(await json(again)).toEqual({
      code: 'callback_replayed',
      message: 'this callback was already processed',
    });
    const late = await postCallback(gpu.callback, progressReport(gpu.predictionId, 'sampling', 3, 19));
    expect(await json(late)).toEqual({ code: 'callback_replayed', message: 'the edit is already succeeded' });
    const failedLate = await postCallback(
      gpu.callback,
      prediction(gpu.predictionId, 'failed', {
        error: 'boom',
        error_detail: { code: 'internal', message: 'boom' },
      }),
    );
    expect(failedLate.status).toBe(409);
    expect((await getEdit(account, edit.id)).status).toBe('succeeded');
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10', 'capture 10']);
  });

  it('accepts a terminal callback that arrives before any progress', async () => {
    const account = await newAccount();
    const edit = await submit(account);
    const gpu = await waitForDispatch(edit.id);
    expect((await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, MASK))).status).toBe(
      200,
    );
    expect((await postCallback(gpu.callback, prediction(gpu.predictionId, 'processing'))).status).toBe(409);
    expect((await getEdit(account, edit.id)).status).toBe('succeeded');
  });

  it('refuses forged callbacks: wrong secret, unknown attempt, unknown edit, malformed body', async () => {
    const account = await newAccount();
    const { edit, gpu } = await started(account);
    const forged = gpu.callback.replace(/secret=[^&]+/, `secret=${'A'.repeat(32)}`);
    const cases: [string, unknown, number, Record<string, string>][] = [
      [
        forged,
        await succeeded(gpu.predictionId, IMAGE, MASK),
        401,
        { code: 'callback_rejected', message: 'callback secret does not match this edit and attempt' },
      ],
      [
        gpu.callback.replace('/1?', '/2?'),
        prediction(gpu.predictionId, 'failed'),
        401,
        { code: 'callback_rejected', message: 'callback secret does not match this edit and attempt' },
      ],
      [
        gpu.callback.replace('/1?', '/3?'),
        prediction(gpu.predictionId, 'failed'),
        404,
        { code: 'not_found', message: 'no attempt 3' },
      ],
      [
        gpu.callback.replace(edit.id, 'ed_nope'),
        prediction(gpu.predictionId, 'failed'),
        404,
        { code: 'not_found', message: 'no edit ed_nope' },
      ],
      [
        gpu.callback,
        { status: 'succeeded' },
        422,
        { code: 'invalid_value', message: 'callback body is not a prediction: id: is required' },
      ],
      [gpu.callback, '{"id": ', 400, { code: 'invalid_json', message: 'request: callback body is not JSON' }],
    ];
    for (const [path, body, status, error] of cases) {
      const response = await call(path, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect([path, response.status, await json(response)]).toEqual([path, status, error]);
    }
    expect((await getEdit(account, edit.id)).status).toBe('processing');
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10']);
  });

  it('fails and releases when the GPU function reports a failure', async () => {
    const account = await newAccount();
    const { edit, gpu } = await started(account);
    const failure = prediction(gpu.predictionId, 'failed', {
      error: 'operations[0].source.mask: selects no pixels',
      error_detail: { code: 'empty_region', message: 'operations[0].source.mask: selects no pixels' },
    });
    expect((await postCallback(gpu.callback, failure)).status).toBe(200);
    const failed = await getEdit(account, edit.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({
      code: 'empty_region',
      message: 'operations[0].source.mask: selects no pixels',
    });
    expect(failed.metrics.charged_credits).toBe(0);
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10', 'release 10']);
  });
});

describe('cancel', () => {
  it('releases an edit canceled before the GPU function started it, and forwards the cancel', async () => {
    const account = await newAccount();
    const edit = await submit(account);
    const gpu = await waitForDispatch(edit.id);
    const canceled = await api(account, 'POST', `/v1/edits/${edit.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect((await json<Edit>(canceled)).status).toBe('canceled');
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10', 'release 10']);
    const calls = await (await import('./support/gpu.ts')).fakeCogCalls(gpu.predictionId);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PUT /predictions/${gpu.predictionId}`,
      `POST /predictions/${gpu.predictionId}/cancel`,
    ]);
    // Canceling again is harmless; a late result is refused.
    expect((await api(account, 'POST', `/v1/edits/${edit.id}/cancel`)).status).toBe(200);
    expect((await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, MASK))).status).toBe(
      409,
    );
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10', 'release 10']);
  });

  it('charges an edit canceled while running, and refuses to cancel a finished one', async () => {
    const account = await newAccount();
    const { edit } = await started(account);
    expect((await api(account, 'POST', `/v1/edits/${edit.id}/cancel`)).status).toBe(200);
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10', 'capture 10']);
    const other = await started(account);
    await postCallback(other.gpu.callback, await succeeded(other.gpu.predictionId, IMAGE, MASK));
    const refused = await api(account, 'POST', `/v1/edits/${other.edit.id}/cancel`);
    expect(refused.status).toBe(409);
    expect(await json(refused)).toEqual({
      code: 'invalid_transition',
      message: `edit ${other.edit.id} already succeeded; it cannot be canceled`,
    });
  });

  it('settles exactly once when a cancel races the result', async () => {
    const account = await newAccount(10_000);
    const seen: string[] = [];
    for (let round = 0; round < 6; round++) {
      // Dispatched, not started: a cancel that wins releases, a result that wins captures.
      const edit = await submit(account);
      const gpu = await waitForDispatch(edit.id);
      const result = await succeeded(gpu.predictionId, IMAGE, MASK);
      const [cancel, callback] = await Promise.all([
        api(account, 'POST', `/v1/edits/${edit.id}/cancel`),
        postCallback(gpu.callback, result),
      ]);
      const final = await getEdit(account, edit.id);
      const lines = linesOf(await usage(account), edit.id);
      seen.push(`${final.status} cancel ${cancel.status} callback ${callback.status} ${lines.join(', ')}`);
    }
    for (const line of seen) {
      expect([
        'succeeded cancel 409 callback 200 hold 10, capture 10',
        'canceled cancel 200 callback 409 hold 10, release 10',
      ]).toContain(line);
    }
  });
});

describe('Idempotency-Key', () => {
  it('turns 20 concurrent submits with one key into one edit and one hold', async () => {
    const account = await newAccount(1000);
    const body = editRequest({ metadata: { attempt: 'same' } });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api(account, 'POST', '/v1/edits', body, { 'idempotency-key': 'order-42' }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(new Array(20).fill(202));
    const ids = new Set(
      await Promise.all(responses.map(async (response) => (await json<Edit>(response)).id)),
    );
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const u = await usage(account);
    expect(u).toMatchObject({ available_credits: 990, held_credits: 10 });
    expect(u.ledger.filter((line) => line.kind === 'hold')).toHaveLength(1);
    expect(linesOf(u, id!)).toEqual(['hold 10']);
    await waitForDispatch(id!);
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM edits WHERE account_id = ?')
      .bind(account.id)
      .first<{ n: number }>();
    expect(count!.n).toBe(1);
  });

  it('answers the same key with another body 409, and a fresh key with a new edit', async () => {
    const account = await newAccount();
    const first = await submit(account, editRequest(), { 'idempotency-key': 'k1' });
    const conflict = await api(account, 'POST', '/v1/edits', editRequest({ metadata: { v: 2 } }), {
      'idempotency-key': 'k1',
    });
    expect(conflict.status).toBe(409);
    expect(await json(conflict)).toEqual({
      code: 'idempotency_conflict',
      message: `Idempotency-Key was used for edit ${first.id} with a different request body; use a new key for a new request`,
      details: { edit_id: first.id },
    });
    const second = await submit(account, editRequest(), { 'idempotency-key': 'k2' });
    expect(second.id).not.toBe(first.id);
    const replay = await submit(account, editRequest(), { 'idempotency-key': 'k1' });
    expect(replay.id).toBe(first.id);
  });
});

describe('credits', () => {
  it('answers 402 when the balance cannot cover the price, and holds nothing', async () => {
    const account = await newAccount(15);
    await submit(account);
    const refused = await api(account, 'POST', '/v1/edits', editRequest());
    expect(refused.status).toBe(402);
    expect(await json(refused)).toEqual({
      code: 'insufficient_credits',
      message: 'this edit costs 10 credits (256x256, work x1); the available balance is lower',
      details: { price_credits: 10 },
    });
    expect(await usage(account)).toMatchObject({ available_credits: 5, held_credits: 10 });
    const rows = await env.DB.prepare('SELECT COUNT(*) AS n FROM edits WHERE account_id = ?')
      .bind(account.id)
      .first<{ n: number }>();
    expect(rows!.n).toBe(1);
  });
});

describe('time-outs', () => {
  async function expire(editId: string): Promise<void> {
    const stub = editStub(env, editId);
    await (await import('cloudflare:test')).runInDurableObject(stub, async (instance, state) => {
      const record = (await state.storage.get<Record<string, unknown>>('edit'))!;
      record.deadlineAt = Date.now() - 1;
      await state.storage.put('edit', record);
      (instance as unknown as { loaded: boolean }).loaded = false;
      await state.storage.setAlarm(Date.now() - 1);
    });
    await (await import('cloudflare:test')).runDurableObjectAlarm(stub);
  }

  it('re-dispatches a silent edit once, refuses the old attempt, then fails and releases', async () => {
    const account = await newAccount();
    const { edit, gpu } = await started(account);
    await expire(edit.id);
    const second = await waitForDispatch(edit.id, 2);
    expect(second.callback).toMatch(new RegExp(`/internal/callbacks/cog/${edit.id}/2\\?secret=`));
    const stale = await postCallback(gpu.callback, await succeeded(gpu.predictionId, IMAGE, MASK));
    expect(await json(stale)).toEqual({
      code: 'callback_replayed',
      message: 'callback for a superseded attempt (current attempt 2)',
    });
    expect((await postCallback(second.callback, prediction(second.predictionId, 'processing'))).status).toBe(
      200,
    );
    await expire(edit.id);
    const failed = await waitFor('failure', async () => {
      const e = await getEdit(account, edit.id);
      return e.status === 'failed' ? e : undefined;
    });
    expect(failed.error!.code).toBe('timeout');
    expect(failed.error!.message).toMatch(
      /^the GPU function was silent for more than 300 s or ran past 3600 s; attempt 2 of 2$/,
    );
    expect(linesOf(await usage(account), edit.id)).toEqual(['hold 10', 'release 10']);
  });
});
