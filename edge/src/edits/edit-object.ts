/**
 * One Durable Object per edit: the authority on its state (state-machine.ts), its event log for
 * the SSE stream, its customer webhook outbox, and its settlement with the ledger. Every change
 * runs one at a time (`serially`), so a callback, a cancel and an alarm never interleave halfway.
 *
 * One alarm drives every timer: the next dispatch try, the GPU time-out, a pending settlement or
 * cancel forward, and the next webhook delivery. Limits (edge/README.md): a dispatched edit must
 * hear from the GPU function within START_TIMEOUT_S; a running one within SILENCE_TIMEOUT_S of its
 * last report and MAX_RUN_TIME_S in all. Past a limit the first attempt is canceled at the GPU
 * function and the edit re-dispatched once; past a limit on the second attempt it fails with
 * `timeout` and its hold is released.
 */

import { DurableObject } from 'cloudflare:workers';
import {
  type ApiError,
  DEFAULT_LIMITS,
  ERROR_CODES,
  type ErrorCode,
  type Path,
  type Progress,
  type WebhookEvent,
  wantsEvent,
} from '@dragflow/shared';
import { settleHold } from '../billing/ledger.ts';
import { type Config, configOf, type Env } from '../config.ts';
import { timingSafeEqualText } from '../crypto.ts';
import { DispatchError } from '../dispatch/dispatcher.ts';
import { dispatcherFor } from '../dispatch/index.ts';
import { outboundUrlProblem } from '../security/outbound-url.ts';
import { storeFor } from '../storage/index.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { type EditEventType, nextAttemptAt, Outbox, sendWebhook } from '../webhooks/outbox.ts';
import { newCallbackSecret, signedHeaders } from '../webhooks/signature.ts';
import { type EditObjectJson, type EditSnapshot, renderEdit } from './edit-view.ts';
import { storeGpuOutput } from './gpu-outputs.ts';
import { canMove, type EditStatus, type GpuReport, isFinished, judgeReport } from './state-machine.ts';

/** Attempts per edit: the first dispatch and one re-dispatch after a time-out or interruption. */
export const MAX_ATTEMPTS = 2;
/** Seconds between tries of one dispatch (busy or unreachable GPU function), then the edit fails. */
export const DISPATCH_BACKOFF_S = [2, 5, 15, 30, 60, 120, 300, 600];
/** Seconds before retrying a settlement or a cancel forward that failed. */
const HOUSEKEEPING_RETRY_S = 10;
/** Webhook ids remembered per edit to refuse replays (each callback has its own). */
const SEEN_CALLBACKS = 500;
/** Deliveries attempted in one alarm run before yielding. */
const DELIVERIES_PER_ALARM = 20;

export interface EditInit {
  readonly id: string;
  readonly accountId: string;
  readonly createdAt: string;
  readonly baseUrl: string;
  readonly price: number;
  /** The request as the GPU function reads it, except the images at `images[].path`. */
  readonly gpuRequest: Record<string, unknown>;
  readonly images: readonly { readonly path: Path; readonly key: string; readonly contentType: string }[];
  readonly webhook: { readonly url: string; readonly filter: readonly WebhookEvent[] | null } | null;
  readonly webhookSecret: string;
  readonly metadata: Record<string, unknown>;
}

interface EditRecord extends EditInit {
  status: EditStatus;
  attempt: number;
  predictionId: string | null;
  callbackSecrets: string[];
  dispatchFailures: number;
  nextDispatchAt: number | null;
  deadlineAt: number | null;
  dispatchedAt: number | null;
  startedAt: string | null;
  completedAt: string | null;
  lastHeardAt: number | null;
  progress: Progress | null;
  previewKeys: string[];
  output: { imageKey: string; maskKey: string | null } | null;
  error: ApiError | null;
  gpuMetrics: Record<string, number>;
  charged: number;
  /** Settlement owed to the ledger and not yet written (retried by the alarm). */
  settlementDue: 'capture' | 'release' | null;
  /** A prediction to cancel at the GPU function, retried by the alarm until it is told. */
  cancelDue: string | null;
  housekeepingAt: number | null;
  lastProgressWebhookAt: number | null;
  seenCallbacks: string[];
}

export type CallbackOutcome =
  | { readonly kind: 'applied' | 'ignored'; readonly detail: string }
  | { readonly kind: 'unknown' | 'rejected' | 'replayed'; readonly detail: string };

export type CancelOutcome =
  | { readonly kind: 'canceled' | 'already_canceled'; readonly snapshot: EditSnapshot }
  | { readonly kind: 'finished'; readonly snapshot: EditSnapshot }
  | { readonly kind: 'unknown' };

interface EventRow extends Record<string, SqlStorageValue> {
  seq: number;
  type: string;
  data: string;
}

const RECORD_KEY = 'edit';

function errorCode(code: string): ErrorCode {
  return Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'internal';
}

function deepSet(target: Record<string, unknown>, path: Path, value: unknown): void {
  let node: Record<string | number, unknown> = target;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
}

export class EditObject extends DurableObject<Env> {
  private record: EditRecord | undefined;
  private loaded = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly outbox: Outbox;
  private readonly listeners = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  /** SSE frames are rendered in event order on this chain; writes queue on each stream in that order. */
  private sse: Promise<unknown> = Promise.resolve();
  /** One delivery run at a time (deliveries go in event order). */
  private delivering = false;
  private readonly encoder = new TextEncoder();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL)',
    );
    this.outbox = new Outbox(ctx.storage.sql);
  }

  private get config(): Config {
    return configOf(this.env);
  }

  /** Runs `task` after every earlier task of this object has finished. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<EditRecord | undefined> {
    if (!this.loaded) {
      this.record = await this.ctx.storage.get<EditRecord>(RECORD_KEY);
      this.loaded = true;
    }
    return this.record;
  }

  private async save(record: EditRecord): Promise<void> {
    this.record = record;
    await this.ctx.storage.put(RECORD_KEY, record);
    await this.scheduleAlarm(record);
  }

  private store(record: EditRecord): ObjectStore {
    return storeFor(this.env, this.config, record.baseUrl);
  }

  private snapshotOf(record: EditRecord): EditSnapshot {
    return {
      id: record.id,
      status: record.status,
      progress: record.progress,
      previewKeys: record.previewKeys,
      output: record.output,
      error: record.error,
      gpuMetrics: record.gpuMetrics,
      metadata: record.metadata,
      price: record.price,
      charged: record.charged,
      createdAt: record.createdAt,
      startedAt: record.startedAt,
      completedAt: record.completedAt,
    };
  }

  // ---- RPC ------------------------------------------------------------------------------

  /** Creates the edit (idempotent: a second call returns the existing one) and schedules its dispatch. */
  create(init: EditInit): Promise<EditSnapshot> {
    return this.serially(async () => {
      const existing = await this.load();
      if (existing) return this.snapshotOf(existing);
      const record: EditRecord = {
        ...init,
        status: 'queued',
        attempt: 1,
        predictionId: null,
        callbackSecrets: [newCallbackSecret()],
        dispatchFailures: 0,
        nextDispatchAt: Date.now(),
        deadlineAt: null,
        dispatchedAt: null,
        startedAt: null,
        completedAt: null,
        lastHeardAt: null,
        progress: null,
        previewKeys: [],
        output: null,
        error: null,
        gpuMetrics: {},
        charged: 0,
        settlementDue: null,
        cancelDue: null,
        housekeepingAt: null,
        lastProgressWebhookAt: null,
        seenCallbacks: [],
      };
      this.appendEvent('status', this.snapshotOf(record));
      await this.save(record);
      return this.snapshotOf(record);
    });
  }

  async snapshot(): Promise<EditSnapshot | null> {
    const record = await this.load();
    return record ? this.snapshotOf(record) : null;
  }

  /** The public edit object, with signed URLs (for callers without storage access). */
  async view(): Promise<EditObjectJson | null> {
    const record = await this.load();
    if (!record) return null;
    return renderEdit(this.snapshotOf(record), this.store(record), record.baseUrl, this.config.resultUrlTtlS);
  }

  cancel(): Promise<CancelOutcome> {
    return this.serially(async () => {
      const record = await this.load();
      if (!record) return { kind: 'unknown' };
      if (record.status === 'canceled')
        return { kind: 'already_canceled', snapshot: this.snapshotOf(record) };
      if (isFinished(record.status)) return { kind: 'finished', snapshot: this.snapshotOf(record) };
      // Work the GPU function began is charged; an edit canceled before it started is not.
      const started = record.status === 'running';
      if (record.predictionId && record.status !== 'queued') record.cancelDue = record.predictionId;
      this.finish(record, 'canceled', started ? 'capture' : 'release', null);
      await this.save(record);
      await this.housekeeping(record);
      return { kind: 'canceled', snapshot: this.snapshotOf(record) };
    });
  }

  /**
   * A GPU function's report on `attempt`, from a callback carrying `secret`. `callbackId`
   * identifies this delivery (a signed webhook-id, or a digest of the body) to refuse replays.
   */
  gpuReport(
    attempt: number,
    secret: string,
    predictionId: string,
    report: GpuReport,
    callbackId: string,
  ): Promise<CallbackOutcome> {
    return this.serially(async () => {
      const record = await this.load();
      if (!record) return { kind: 'unknown', detail: 'no such edit' };
      const expected = record.callbackSecrets[attempt - 1];
      if (expected === undefined || !timingSafeEqualText(expected, secret)) {
        return { kind: 'rejected', detail: 'callback secret does not match this edit and attempt' };
      }
      if (record.seenCallbacks.includes(callbackId)) {
        return { kind: 'replayed', detail: 'this callback was already processed' };
      }
      if (
        attempt !== record.attempt ||
        (record.predictionId !== null && predictionId !== record.predictionId)
      ) {
        return {
          kind: 'replayed',
          detail: `callback for a superseded attempt (current attempt ${record.attempt})`,
        };
      }
      if (isFinished(record.status)) {
        return { kind: 'replayed', detail: `the edit is already ${record.status}` };
      }
      const verdict = judgeReport(record.status, record.progress, record.previewKeys.length, report);
      if (verdict.kind === 'ignore') {
        this.remember(record, callbackId);
        record.lastHeardAt = Date.now();
        this.setDeadline(record);
        await this.save(record);
        return { kind: 'ignored', detail: verdict.reason };
      }
      // Outputs are stored before anything is recorded: if that fails the callback fails
      // (5xx), the GPU function retries it, and nothing was half-applied.
      const newPreviews = await this.storePreviews(record, report);
      const output =
        verdict.kind === 'move' && verdict.to === 'succeeded' ? await this.storeResult(record, report) : null;
      this.remember(record, callbackId);
      record.lastHeardAt = Date.now();
      if (verdict.kind === 'progress' || (verdict.kind === 'move' && verdict.to === 'running')) {
        if (verdict.kind === 'move') this.start(record);
        this.progress(record, report, newPreviews);
      } else if (verdict.kind === 'move' && verdict.to === 'succeeded') {
        record.output = output;
        record.gpuMetrics = { ...report.metrics };
        this.finish(record, 'succeeded', 'capture', null);
      } else if (verdict.kind === 'move' && verdict.to === 'failed') {
        record.gpuMetrics = { ...report.metrics };
        const error = report.error ?? {
          code: 'internal',
          message: 'GPU function reported success without an image',
        };
        this.finish(record, 'failed', 'release', { code: errorCode(error.code), message: error.message });
      } else if (verdict.kind === 'move' && verdict.to === 'canceled') {
        // The edge did not ask for it (a user cancel finishes the edit first): an interruption.
        this.interrupted(record, 'the GPU function canceled the prediction');
      }
      await this.save(record);
      await this.housekeeping(record);
      return { kind: 'applied', detail: `edit is ${record.status}` };
    });
  }

  async deliveries(): Promise<ReturnType<Outbox['list']>> {
    return this.outbox.list();
  }

  override async alarm(): Promise<void> {
    const record = await this.serially(async () => {
      const current = await this.load();
      if (!current) return undefined;
      const now = Date.now();
      if (current.status === 'queued' && current.nextDispatchAt !== null && current.nextDispatchAt <= now) {
        await this.dispatch(current);
      }
      if (current.deadlineAt !== null && current.deadlineAt <= now && !isFinished(current.status)) {
        this.interrupted(current, this.timeoutReason(current));
      }
      await this.save(current);
      await this.housekeeping(current);
      return current;
    });
    if (!record) return;
    // Webhook deliveries wait on the customer's receiver (up to 15 s each): outside the chain, so
    // GPU callbacks and cancels are not held up by a slow receiver. They touch only the outbox.
    await this.deliverDue(record);
    await this.serially(async () => {
      const current = await this.load();
      if (current) await this.scheduleAlarm(current);
    });
  }

  /** Server-Sent Events: the event log after Last-Event-ID, then live events until the edit ends. */
  override async fetch(request: Request): Promise<Response> {
    const record = await this.load();
    if (!record) return new Response(null, { status: 404 });
    const lastId = Number(request.headers.get('last-event-id') ?? '0');
    const after = Number.isSafeInteger(lastId) && lastId > 0 ? lastId : 0;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const store = this.store(record);
    // Backlog and registration happen in one synchronous step: no event falls between them.
    const backlog = this.ctx.storage.sql
      .exec<EventRow>('SELECT seq, type, data FROM events WHERE seq > ? ORDER BY seq', after)
      .toArray();
    const done = isFinished(record.status);
    if (!done) this.listeners.add(writer);
    this.queueSse(async () => {
      const ignore = () => undefined;
      writer.write(this.encoder.encode('retry: 2000\n\n')).catch(ignore);
      for (const row of backlog) writer.write(await this.sseFrame(row, store, record.baseUrl)).catch(ignore);
      if (done) writer.close().catch(ignore);
    });
    return new Response(readable, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    });
  }

  // ---- transitions ----------------------------------------------------------------------

  private move(record: EditRecord, to: EditStatus): void {
    if (!canMove(record.status, to))
      throw new Error(`edit ${record.id}: ${record.status} -> ${to} is not allowed`);
    record.status = to;
  }

  private start(record: EditRecord): void {
    this.move(record, 'running');
    record.startedAt = new Date().toISOString();
    this.appendEvent('status', this.snapshotOf(record));
    this.enqueueWebhook(record, 'edit.started', 'start');
    this.setDeadline(record);
  }

  private progress(record: EditRecord, report: GpuReport, newPreviews: string[]): void {
    if (!report.progress && newPreviews.length === 0) return;
    if (report.progress) {
      const { phase, step, total, loss } = report.progress;
      record.progress = { phase, step, total, loss };
    }
    record.previewKeys.push(...newPreviews);
    this.appendEvent('progress', { progress: record.progress, previews: newPreviews });
    this.setDeadline(record);
    const now = Date.now();
    const interval = this.config.progressWebhookIntervalS * 1000;
    const wanted = newPreviews.length > 0 ? 'output' : 'progress';
    if (
      record.lastProgressWebhookAt === null ||
      now - record.lastProgressWebhookAt >= interval ||
      newPreviews.length > 0
    ) {
      if (this.enqueueWebhook(record, 'edit.progress', wanted)) record.lastProgressWebhookAt = now;
    }
  }

  private finish(
    record: EditRecord,
    to: 'succeeded' | 'failed' | 'canceled',
    settlement: 'capture' | 'release',
    error: ApiError | null,
  ): void {
    this.move(record, to);
    record.completedAt = new Date().toISOString();
    record.error = error;
    record.settlementDue = settlement;
    record.charged = settlement === 'capture' ? record.price : 0;
    record.deadlineAt = null;
    record.nextDispatchAt = null;
    this.appendEvent('status', this.snapshotOf(record));
    this.enqueueWebhook(record, `edit.${to}`, 'completed');
    this.closeListeners();
  }

  /** The GPU function stopped answering or stopped the edit: re-dispatch once, else fail and refund. */
  private interrupted(record: EditRecord, reason: string): void {
    if (record.predictionId) record.cancelDue = record.predictionId;
    if (record.attempt < MAX_ATTEMPTS) {
      this.move(record, 'queued');
      record.attempt += 1;
      record.callbackSecrets.push(newCallbackSecret());
      record.predictionId = null;
      record.dispatchFailures = 0;
      record.nextDispatchAt = Date.now();
      record.deadlineAt = null;
      record.progress = null;
      this.appendEvent('status', { ...this.snapshotOf(record), note: `re-dispatched: ${reason}` });
      return;
    }
    this.finish(record, 'failed', 'release', {
      code: 'timeout',
      message: `${reason}; attempt ${record.attempt} of ${MAX_ATTEMPTS}`,
    });
  }

  private timeoutReason(record: EditRecord): string {
    if (record.status === 'dispatched')
      return `the GPU function did not start the edit within ${this.config.startTimeoutS} s`;
    return `the GPU function was silent for more than ${this.config.silenceTimeoutS} s or ran past ${this.config.maxRunTimeS} s`;
  }

  private setDeadline(record: EditRecord): void {
    const config = this.config;
    if (record.status === 'dispatched') {
      record.deadlineAt = (record.dispatchedAt ?? Date.now()) + config.startTimeoutS * 1000;
    } else if (record.status === 'running') {
      const silence = (record.lastHeardAt ?? Date.now()) + config.silenceTimeoutS * 1000;
      const total = Date.parse(record.startedAt ?? new Date().toISOString()) + config.maxRunTimeS * 1000;
      record.deadlineAt = Math.min(silence, total);
    }
  }

  private remember(record: EditRecord, callbackId: string): void {
    record.seenCallbacks.push(callbackId);
    if (record.seenCallbacks.length > SEEN_CALLBACKS)
      record.seenCallbacks.splice(0, record.seenCallbacks.length - SEEN_CALLBACKS);
  }

  // ---- GPU function ---------------------------------------------------------------------

  private async gpuInput(record: EditRecord): Promise<Record<string, unknown>> {
    const input = structuredClone(record.gpuRequest);
    const store = this.store(record);
    // Signed for as long as the edit may take to start and run.
    const ttl = this.config.startTimeoutS + this.config.maxRunTimeS;
    for (const image of record.images) {
      deepSet(input, image.path, {
        url: await store.signedGetUrl(image.key, ttl),
        content_type: image.contentType,
      });
    }
    return input;
  }

  private async dispatch(record: EditRecord): Promise<void> {
    const dispatcher = dispatcherFor(this.config);
    const secret = record.callbackSecrets[record.attempt - 1]!;
    const callbackUrl = `${record.baseUrl}/internal/callbacks/${dispatcher.name}/${record.id}/${record.attempt}?secret=${secret}`;
    try {
      const { predictionId } = await dispatcher.start({
        editId: record.id,
        attempt: record.attempt,
        input: await this.gpuInput(record),
        callbackUrl,
      });
      record.predictionId = predictionId;
      this.move(record, 'dispatched');
      record.dispatchedAt = Date.now();
      record.nextDispatchAt = null;
      this.setDeadline(record);
      this.appendEvent('status', this.snapshotOf(record));
    } catch (error) {
      const retryable = !(error instanceof DispatchError) || error.retryable;
      const wait = DISPATCH_BACKOFF_S[record.dispatchFailures];
      record.dispatchFailures += 1;
      const reason = error instanceof Error ? error.message : String(error);
      if (retryable && wait !== undefined) {
        record.nextDispatchAt = Date.now() + wait * 1000;
        return;
      }
      const code: ErrorCode = retryable ? 'at_capacity' : 'internal';
      this.finish(record, 'failed', 'release', {
        code,
        message: `dispatch failed after ${record.dispatchFailures} tries: ${reason}`,
      });
    }
  }

  private async storePreviews(record: EditRecord, report: GpuReport): Promise<string[]> {
    const urls = report.output?.previews.slice(record.previewKeys.length) ?? [];
    const keys: string[] = [];
    for (const [index, url] of urls.entries()) {
      keys.push(
        await storeGpuOutput(
          this.outputContext(record),
          url,
          `preview-${record.previewKeys.length + index}.png`,
        ),
      );
    }
    return keys;
  }

  private async storeResult(record: EditRecord, report: GpuReport): Promise<EditRecord['output']> {
    const output = report.output!;
    const context = this.outputContext(record);
    const imageKey = await storeGpuOutput(context, output.image!, 'image');
    const maskKey = output.editable_mask
      ? await storeGpuOutput(context, output.editable_mask, 'editable-mask.png')
      : null;
    return { imageKey, maskKey };
  }

  private outputContext(record: EditRecord) {
    return {
      store: this.store(record),
      baseUrl: record.baseUrl,
      editId: record.id,
      maxBytes: DEFAULT_LIMITS.maxImageBytes,
      policy: { allowLoopback: this.config.allowLoopbackUrls },
    };
  }

  /** Settlement and cancel forwarding: done now when possible, else retried by the alarm. */
  private async housekeeping(record: EditRecord): Promise<void> {
    let failed = false;
    if (record.settlementDue) {
      try {
        await settleHold(this.env.DB, record.id, record.settlementDue);
        record.settlementDue = null;
      } catch (error) {
        console.error(`edit ${record.id}: settlement failed, will retry`, error);
        failed = true;
      }
    }
    if (record.cancelDue) {
      try {
        await dispatcherFor(this.config).cancel(record.cancelDue);
        record.cancelDue = null;
      } catch (error) {
        const retryable = !(error instanceof DispatchError) || error.retryable;
        console.error(`edit ${record.id}: cancel forward failed${retryable ? ', will retry' : ''}`, error);
        if (retryable) failed = true;
        else record.cancelDue = null;
      }
    }
    record.housekeepingAt = failed ? Date.now() + HOUSEKEEPING_RETRY_S * 1000 : null;
    await this.save(record);
  }

  // ---- events and webhooks --------------------------------------------------------------

  private appendEvent(type: 'status' | 'progress', data: unknown): void {
    const text = JSON.stringify(data);
    const row = this.ctx.storage.sql
      .exec<{ seq: number }>('INSERT INTO events (type, data) VALUES (?, ?) RETURNING seq', type, text)
      .one();
    const record = this.record;
    if (this.listeners.size === 0 || !record) return;
    const writers = [...this.listeners];
    const store = this.store(record);
    this.queueSse(async () => {
      const frame = await this.sseFrame({ seq: row.seq, type, data: text }, store, record.baseUrl);
      for (const writer of writers) writer.write(frame).catch(() => this.listeners.delete(writer));
    });
  }

  private async sseFrame(row: EventRow, store: ObjectStore, baseUrl: string): Promise<Uint8Array> {
    const ttl = this.config.resultUrlTtlS;
    let data: unknown;
    if (row.type === 'status') {
      const { note, ...snapshot } = JSON.parse(row.data) as EditSnapshot & { note?: string };
      data = { ...(await renderEdit(snapshot, store, baseUrl, ttl)), ...(note ? { note } : {}) };
    } else {
      const { progress, previews } = JSON.parse(row.data) as {
        progress: Progress | null;
        previews: string[];
      };
      data = { progress, previews: await Promise.all(previews.map((key) => store.signedGetUrl(key, ttl))) };
    }
    return this.encoder.encode(`id: ${row.seq}\nevent: ${row.type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends every open stream after the frames already queued (the terminal status last). */
  private closeListeners(): void {
    const writers = [...this.listeners];
    this.listeners.clear();
    this.queueSse(() => Promise.all(writers.map((writer) => writer.close().catch(() => undefined))));
  }

  private queueSse(task: () => Promise<unknown>): void {
    this.sse = this.sse.then(task).catch((error: unknown) => console.error('SSE frame failed', error));
  }

  /** Adds a webhook delivery when the edit has a webhook and its filter wants `event`; true when added. */
  private enqueueWebhook(record: EditRecord, type: EditEventType, event: WebhookEvent): boolean {
    if (!record.webhook || !wantsEvent(record.webhook.filter ?? undefined, event)) return false;
    const seq = this.ctx.storage.sql.exec<{ seq: number }>('SELECT MAX(seq) AS seq FROM events').one().seq;
    this.outbox.enqueue(
      seq,
      `msg_${record.id}_${seq}`,
      type,
      JSON.stringify(this.snapshotOf(record)),
      Date.now(),
    );
    return true;
  }

  private async deliverDue(record: EditRecord): Promise<void> {
    if (!record.webhook || this.delivering) return;
    this.delivering = true;
    try {
      await this.deliverInOrder(record, record.webhook);
    } finally {
      this.delivering = false;
    }
  }

  private async deliverInOrder(
    record: EditRecord,
    webhook: NonNullable<EditRecord['webhook']>,
  ): Promise<void> {
    const store = this.store(record);
    for (let sent = 0; sent < DELIVERIES_PER_ALARM; sent++) {
      const delivery = this.outbox.head();
      const due = delivery?.next_attempt_at ? Date.parse(delivery.next_attempt_at) : null;
      if (!delivery || due === null || due > Date.now()) return;
      const snapshot = JSON.parse(delivery.snapshot) as EditSnapshot;
      const body = JSON.stringify({
        type: delivery.type,
        timestamp: delivery.created_at,
        data: await renderEdit(snapshot, store, record.baseUrl, this.config.resultUrlTtlS),
      });
      const problem = outboundUrlProblem(webhook.url, {
        allowLoopback: this.config.allowLoopbackUrls,
      });
      const headers = await signedHeaders(record.webhookSecret, delivery.webhook_id, body);
      const result = problem
        ? { status: null, error: `webhook URL ${problem}`, durationMs: 0, retryAfterS: undefined }
        : await sendWebhook(webhook.url, { ...headers }, body);
      const attempts = [
        ...delivery.attempts,
        {
          at: new Date().toISOString(),
          status: result.status,
          error: result.error,
          duration_ms: result.durationMs,
        },
      ];
      if (result.status !== null && result.status >= 200 && result.status < 300) {
        this.outbox.record(delivery.seq, attempts, 'delivered', null);
        continue;
      }
      if (result.status === 410) {
        this.outbox.record(delivery.seq, attempts, 'abandoned', null);
        this.outbox.abandonPending();
        return;
      }
      const next = nextAttemptAt(
        attempts.length,
        this.config.webhookRetryScheduleS,
        Date.now(),
        result.retryAfterS,
      );
      this.outbox.record(delivery.seq, attempts, next === null ? 'failed' : 'pending', next);
      if (next !== null) return;
    }
  }

  private async scheduleAlarm(record: EditRecord): Promise<void> {
    const head = this.outbox.head();
    const times = [
      record.status === 'queued' ? record.nextDispatchAt : null,
      isFinished(record.status) ? null : record.deadlineAt,
      record.housekeepingAt,
      head?.next_attempt_at ? Date.parse(head.next_attempt_at) : null,
    ].filter((time): time is number => time !== null);
    if (times.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const next = Math.min(...times);
    const current = await this.ctx.storage.getAlarm();
    if (current !== next) await this.ctx.storage.setAlarm(next);
  }
}
