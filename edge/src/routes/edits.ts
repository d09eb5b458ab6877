/**
 * /v1/edits: submit (validate, read the images' headers, price, hold, dispatch), get, cancel,
 * the SSE event stream and the webhook deliveries of an edit.
 */
import {
  checkAgainstImage,
  contractError,
  DEFAULT_LIMITS,
  type EditRequest,
  MEDIA_TYPES,
  parseEditRequest,
} from '@dragflow/shared';
import { Hono } from 'hono';
import { findByIdempotencyKey, submitWithHold } from '../billing/ledger.ts';
import { priceOf } from '../billing/prices.ts';
import { newId, sha256Hex } from '../crypto.ts';
import type { CancelOutcome, EditInit } from '../edits/edit-object.ts';
import { editStub, requireOwnEdit } from '../edits/edit-stub.ts';
import { type EditObjectJson, type EditSnapshot, renderEdit } from '../edits/edit-view.ts';
import { discardInputs, locateInputImages, storeInputImages } from '../edits/input-images.ts';
import { HttpError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readJson } from '../http/body.ts';
import { allowOnly } from '../http/methods.ts';
import { outboundUrlProblem } from '../security/outbound-url.ts';
import { storeFor } from '../storage/index.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** Largest edit request body: one image as a data URI at the byte limit, plus masks and fields. */
export const MAX_EDIT_BODY_BYTES = 32 * 1024 * 1024;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const edits = new Hono<AppEnv>();

function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(header)) {
    throw new HttpError(
      'invalid_header',
      'Idempotency-Key must be 1-255 printable ASCII characters without spaces',
    );
  }
  return header;
}

/** The request the GPU function gets: the customer's webhook and metadata stay at the edge. */
function gpuRequestOf(request: EditRequest): Record<string, unknown> {
  const { webhook: _webhook, webhook_events_filter: _filter, metadata: _metadata, ...rest } = request;
  return structuredClone(rest) as Record<string, unknown>;
}

/** A just-accepted edit as its Durable Object will hold it, for answers that race its creation. */
function queuedSnapshot(id: string, price: number, createdAt: string, request: EditRequest): EditSnapshot {
  return {
    id,
    status: 'queued',
    progress: null,
    previewKeys: [],
    output: null,
    error: null,
    gpuMetrics: {},
    metadata: request.metadata ?? {},
    price,
    charged: 0,
    createdAt,
    startedAt: null,
    completedAt: null,
  };
}

async function replay(
  env: AppEnv['Bindings'],
  store: ObjectStore,
  baseUrl: string,
  ttl: number,
  existing: { id: string; price: number; created_at: string },
  request: EditRequest,
): Promise<EditObjectJson> {
  const view = await editStub(env, existing.id).view();
  return (
    view ??
    renderEdit(queuedSnapshot(existing.id, existing.price, existing.created_at, request), store, baseUrl, ttl)
  );
}

edits.post('/', async (c) => {
  const { config, caller, baseUrl } = c.var;
  const idempotencyKey = idempotencyKeyOf(c.req.header('idempotency-key'));
  const { text, json } = await readJson(c.req.raw, MAX_EDIT_BODY_BYTES, 'edit request body');
  const parsed = parseEditRequest(json, {}, { allowLoopbackHttp: config.allowLoopbackUrls });
  if (!parsed.ok) throw HttpError.fromContract(parsed.errors);
  const request = parsed.value;
  const policy = { allowLoopback: config.allowLoopbackUrls };
  const webhookProblem =
    request.webhook === undefined ? undefined : outboundUrlProblem(request.webhook, policy);
  if (webhookProblem) {
    throw HttpError.fromContract([contractError('address_not_allowed', ['webhook'], webhookProblem)]);
  }
  const requestHash = await sha256Hex(text);
  const store = storeFor(c.env, config, baseUrl);
  const ttl = config.resultUrlTtlS;

  if (idempotencyKey !== undefined) {
    const existing = await findByIdempotencyKey(c.env.DB, caller.accountId, idempotencyKey);
    if (existing) {
      if (existing.request_hash !== requestHash) throw idempotencyConflict(existing.id);
      return c.json(await replay(c.env, store, baseUrl, ttl, existing, request), 202);
    }
  }

  const editId = newId('ed');
  const imageContext = {
    db: c.env.DB,
    store,
    accountId: caller.accountId,
    editId,
    limits: DEFAULT_LIMITS,
    policy,
  };
  const located = await locateInputImages(imageContext, request);
  if (!located.ok) throw HttpError.fromContract(located.errors);
  const size = located.image.info;
  const checked = checkAgainstImage(request, size);
  if (!checked.ok) throw HttpError.fromContract(checked.errors);
  const price = priceOf(size, request.options);
  const images = await storeInputImages(imageContext, located.all);
  const createdAt = new Date().toISOString();
  const outcome = await submitWithHold(c.env.DB, {
    id: editId,
    accountId: caller.accountId,
    idempotencyKey,
    requestHash,
    price: price.credits,
    createdAt,
  });
  if (outcome.kind !== 'created') await discardInputs(store, editId, images);
  if (outcome.kind === 'insufficient') {
    throw new HttpError(
      'insufficient_credits',
      `this edit costs ${price.credits} credits (${size.width}x${size.height}, work x${price.workMultiplier}); the available balance is lower`,
      { price_credits: price.credits },
    );
  }
  if (outcome.kind === 'existing') {
    if (outcome.edit.request_hash !== requestHash) throw idempotencyConflict(outcome.edit.id);
    return c.json(await replay(c.env, store, baseUrl, ttl, outcome.edit, request), 202);
  }

  const account = await c.env.DB.prepare('SELECT webhook_secret FROM accounts WHERE id = ?')
    .bind(caller.accountId)
    .first<{ webhook_secret: string }>();
  const init: EditInit = {
    id: editId,
    accountId: caller.accountId,
    createdAt,
    baseUrl,
    price: price.credits,
    gpuRequest: gpuRequestOf(request),
    images: images.map((image) => ({
      path: image.path,
      key: image.key,
      contentType: MEDIA_TYPES[image.info.format],
    })),
    webhook: request.webhook ? { url: request.webhook, filter: request.webhook_events_filter ?? null } : null,
    webhookSecret: account!.webhook_secret,
    metadata: request.metadata ?? {},
  };
  const snapshot = await editStub(c.env, editId).create(init);
  const view = await renderEdit(snapshot, store, baseUrl, ttl);
  return c.json(view, 202, { location: view.urls.get });
});
allowOnly(edits, '/', ['POST']);

function idempotencyConflict(editId: string): HttpError {
  return new HttpError(
    'idempotency_conflict',
    `Idempotency-Key was used for edit ${editId} with a different request body; use a new key for a new request`,
    { edit_id: editId },
  );
}

edits.get('/:id', async (c) => {
  const owned = await requireOwnEdit(c.env.DB, c.var.caller.accountId, c.req.param('id'));
  const view = await editStub(c.env, owned.id).view();
  if (!view) throw new HttpError('not_found', `edit ${owned.id} is still being created; retry`);
  return c.json(view);
});
allowOnly(edits, '/:id', ['GET']);

edits.post('/:id/cancel', async (c) => {
  const owned = await requireOwnEdit(c.env.DB, c.var.caller.accountId, c.req.param('id'));
  const stub = editStub(c.env, owned.id);
  const outcome = (await stub.cancel()) as CancelOutcome;
  switch (outcome.kind) {
    case 'unknown':
      throw new HttpError('not_found', `edit ${owned.id} is still being created; retry`);
    case 'finished':
      throw new HttpError(
        'invalid_transition',
        `edit ${owned.id} already ${outcome.snapshot.status}; it cannot be canceled`,
      );
    default: {
      const store = storeFor(c.env, c.var.config, c.var.baseUrl);
      return c.json(await renderEdit(outcome.snapshot, store, c.var.baseUrl, c.var.config.resultUrlTtlS));
    }
  }
});
allowOnly(edits, '/:id/cancel', ['POST']);

edits.get('/:id/events', async (c) => {
  const owned = await requireOwnEdit(c.env.DB, c.var.caller.accountId, c.req.param('id'));
  const lastEventId = c.req.header('last-event-id') ?? c.req.query('last_event_id') ?? '0';
  if (!/^\d{1,12}$/.test(lastEventId)) {
    throw new HttpError(
      'invalid_header',
      'Last-Event-ID must be the id of an event received before (digits)',
    );
  }
  return editStub(c.env, owned.id).fetch('https://edit.internal/events', {
    headers: { 'last-event-id': lastEventId },
  });
});
allowOnly(edits, '/:id/events', ['GET']);

edits.get('/:id/webhook-deliveries', async (c) => {
  const owned = await requireOwnEdit(c.env.DB, c.var.caller.accountId, c.req.param('id'));
  const deliveries = await editStub(c.env, owned.id).deliveries();
  return c.json({
    deliveries: deliveries.map(({ snapshot: _snapshot, ...delivery }) => delivery),
  });
});
allowOnly(edits, '/:id/webhook-deliveries', ['GET']);

export { edits };
