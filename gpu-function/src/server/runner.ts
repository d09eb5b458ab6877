/**
 * Runs predictions on a fixed number of slots (one per GPU by default, `--concurrency`). A slot
 * keeps its own open models (a ModelCache, warmed at setup), since a model runs one edit at a
 * time. A prediction takes a free slot when it is created (none free: the caller answers 409),
 * runs the pipeline with its own AbortSignal (cancel stops the edit before its next transformer
 * call), stores its files, and gives the slot back BEFORE its terminal state is published, so
 * whoever hears `completed` can start the next prediction at once.
 *
 * An internal failure (not the input's fault, not an upload's) leaves the runtime in a state
 * nobody can vouch for (a GPU error usually poisons the context): the runner turns DEFUNCT and
 * takes no more work, so an orchestrator replaces the container.
 */
import type { EditRequest } from '@dragflow/shared/edit-request';
import type { CogWebhookEvent } from '@dragflow/shared/prediction';
import sharp from 'sharp';
import { encodePngMask } from '../formats/sample-files.ts';
import { type EditResult, type ProgressEvent, runEdit } from '../pipeline/edit.ts';
import { EditCanceled, EditRejected } from '../pipeline/errors.ts';
import { ModelCache } from '../pipeline/model-cache.ts';
import { imageFetcher } from './input-fetcher.ts';
import { cogMetrics } from './metrics.ts';
import type { OutputStore } from './output-store.ts';
import { UploadFailed } from './output-store.ts';
import { Prediction } from './prediction.ts';
import { predictionProgress, progressLine } from './progress.ts';
import { WebhookSender } from './webhook-sender.ts';

/** Finished predictions remembered, so a repeated PUT returns the result instead of editing again. */
export const RETAINED_PREDICTIONS = 16;
/** Longest side of a preview PNG, in pixels. */
export const PREVIEW_MAX_SIDE = 256;

export interface RunnerOptions {
  concurrency: number;
  store: OutputStore;
  allowLoopback: boolean;
  fetchTimeoutMs: number;
  webhookAuthToken: string | undefined;
  log: (line: string) => void;
}

/** What a prediction request asks for, once checked (prediction-request.ts). */
export interface PredictionOrder {
  id: string;
  /** The input as received, for the prediction's echo. */
  input: unknown;
  request: EditRequest;
  webhook?: URL;
  webhookEventsFilter?: readonly CogWebhookEvent[];
}

interface Slot {
  readonly index: number;
  readonly models: ModelCache;
  busy: boolean;
}

interface Running {
  prediction: Prediction;
  controller: AbortController;
  /** Transformer calls reported when the cancel arrived. */
  callsAtCancel?: number;
  lastCalls: number;
  finished: Promise<void>;
}

const CONTENT_TYPES = { png: 'image/png', webp: 'image/webp', jpeg: 'image/jpeg' } as const;
const EXTENSIONS = { png: 'png', webp: 'webp', jpeg: 'jpg' } as const;

export class Runner {
  readonly slots: Slot[];
  private readonly running = new Map<string, Running>();
  private readonly finished = new Map<string, Prediction>();
  private readonly deliveries = new Set<Promise<unknown>>();
  /** Why the runner takes no more work, once an internal failure happened. */
  defunct: string | null = null;
  private bundleDir = '';
  private version = '';

  constructor(private readonly options: RunnerOptions) {
    this.slots = Array.from({ length: options.concurrency }, (_, index) => ({
      index,
      models: new ModelCache(),
      busy: false,
    }));
  }

  /** Setup succeeded: the bundle every edit runs on. */
  ready(bundleDir: string, version: string): void {
    this.bundleDir = bundleDir;
    this.version = version;
  }

  get busy(): boolean {
    return this.slots.every((slot) => slot.busy);
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** A prediction running now or finished recently. */
  find(id: string): Prediction | undefined {
    return this.running.get(id)?.prediction ?? this.finished.get(id);
  }

  /** Starts a prediction on a free slot; undefined when every slot is busy. */
  start(order: PredictionOrder): Prediction | undefined {
    const slot = this.slots.find((candidate) => !candidate.busy);
    if (!slot) return undefined;
    slot.busy = true;
    const prediction = new Prediction(order.id, order.input, this.version);
    this.watch(prediction, order);
    const entry: Running = {
      prediction,
      controller: new AbortController(),
      lastCalls: 0,
      finished: Promise.resolve(),
    };
    this.running.set(order.id, entry);
    // The caller answers with the `starting` state first; the edit begins on the next turn.
    entry.finished = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.execute(entry, order.request, slot),
    );
    return prediction;
  }

  /** Server log lines for every transition, and webhooks when the order has one. */
  private watch(prediction: Prediction, order: PredictionOrder): void {
    const { log } = this.options;
    log(`prediction ${prediction.id}: created (starting)`);
    const sender = order.webhook
      ? new WebhookSender({
          url: order.webhook,
          ...(order.webhookEventsFilter ? { filter: order.webhookEventsFilter } : {}),
          ...(this.options.webhookAuthToken ? { authToken: this.options.webhookAuthToken } : {}),
          allowLoopback: this.options.allowLoopback,
          snapshot: () => prediction.toJSON(),
          log: (line) => log(`prediction ${prediction.id}: ${line}`),
        })
      : undefined;
    prediction.onEvent((event, p) => {
      if (event === 'start' || event === 'completed') log(`prediction ${p.id}: ${p.status}`);
      if (!sender) return;
      if (event !== 'completed') {
        sender.notify(event);
        return;
      }
      const delivery = sender.complete().finally(() => this.deliveries.delete(delivery));
      this.deliveries.add(delivery);
    });
  }

  /** Asks a running prediction to stop; false when no prediction has that id. */
  cancel(id: string): boolean {
    const entry = this.running.get(id);
    if (!entry) return this.finished.has(id);
    if (!entry.controller.signal.aborted) {
      entry.callsAtCancel = entry.lastCalls;
      entry.prediction.log(`cancel requested after ${entry.lastCalls} transformer calls`);
      entry.controller.abort();
    }
    return true;
  }

  cancelAll(): void {
    for (const id of this.running.keys()) this.cancel(id);
  }

  /** Resolves when no prediction runs. */
  async idle(): Promise<void> {
    while (this.running.size > 0)
      await Promise.all([...this.running.values()].map((entry) => entry.finished));
  }

  /** Resolves when every terminal webhook was delivered or given up. */
  async webhooksSettled(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  /** Closes every slot's open models. */
  async release(): Promise<void> {
    for (const slot of this.slots) await slot.models.release();
  }

  private async execute(entry: Running, request: EditRequest, slot: Slot): Promise<void> {
    const { prediction, controller } = entry;
    let settle: () => void;
    try {
      prediction.start();
      settle = await this.edit(entry, request, slot);
    } catch (error) {
      settle = this.failure(entry, error);
    }
    slot.busy = false;
    this.running.delete(prediction.id);
    this.retain(prediction);
    settle();
    if (controller.signal.aborted && prediction.status === 'succeeded') {
      this.options.log(`prediction ${prediction.id}: the cancel came after the last transformer call`);
    }
  }

  /** Runs the edit and stores its files; returns the terminal transition to apply. */
  private async edit(entry: Running, request: EditRequest, slot: Slot): Promise<() => void> {
    const { prediction, controller } = entry;
    const { store } = this.options;
    let previews = Promise.resolve();
    let previewFailure: unknown;
    const onProgress = (event: ProgressEvent) => {
      entry.lastCalls = event.transformer_calls;
      prediction.progress(predictionProgress(event), progressLine(event));
      const preview = event.preview;
      if (preview) {
        const name = `${prediction.id}-preview-${event.phase}-${String(event.step).padStart(3, '0')}.png`;
        previews = previews
          .then(async () => {
            if (previewFailure !== undefined) return;
            const small = await sharp(preview)
              .resize({
                width: PREVIEW_MAX_SIDE,
                height: PREVIEW_MAX_SIDE,
                fit: 'inside',
                withoutEnlargement: true,
              })
              .png()
              .toBuffer();
            prediction.addPreview(await store.store(name, small, 'image/png'));
            prediction.log(`preview ${event.phase} ${event.step}/${event.total} stored as ${name}`);
          })
          .catch((error: unknown) => {
            previewFailure ??= error;
          });
      }
    };
    // Previews still being stored are waited for, so none lands after the prediction is terminal.
    const result = await runEdit(request, {
      bundleDir: this.bundleDir,
      models: slot.models,
      signal: controller.signal,
      onProgress,
      urlPolicy: { allowLoopbackHttp: this.options.allowLoopback },
      load: imageFetcher({
        allowLoopback: this.options.allowLoopback,
        timeoutMs: this.options.fetchTimeoutMs,
        signal: controller.signal,
        log: (line) => prediction.log(line),
      }),
    }).finally(() => previews);
    if (previewFailure !== undefined) throw previewFailure;
    const files = await this.storeResult(prediction, result, request.options?.output_metrics === true);
    const metrics = cogMetrics(result.metrics);
    return () => prediction.succeed(files, metrics);
  }

  private async storeResult(prediction: Prediction, result: EditResult, withMetrics: boolean) {
    const { store } = this.options;
    const stored = async (suffix: string, bytes: Uint8Array, contentType: string) => {
      const name = `${prediction.id}-${suffix}`;
      const url = await store.store(name, bytes, contentType);
      prediction.log(`stored ${name} (${bytes.length} bytes)`);
      return url;
    };
    const image = await stored(
      `image.${EXTENSIONS[result.format]}`,
      result.encoded,
      CONTENT_TYPES[result.format],
    );
    const mask = await stored('editable-mask.png', await encodePngMask(result.editableMask), 'image/png');
    const metrics = withMetrics
      ? await stored(
          'metrics.json',
          new TextEncoder().encode(JSON.stringify(result.metrics)),
          'application/json',
        )
      : undefined;
    return { image, editable_mask: mask, ...(metrics ? { metrics } : {}) };
  }

  /** The terminal transition for an edit that threw. */
  private failure(entry: Running, error: unknown): () => void {
    const { prediction } = entry;
    if (error instanceof EditCanceled) {
      const metrics: Record<string, number> = {
        transformer_calls: Math.max(error.transformerCalls, entry.lastCalls),
      };
      if (entry.callsAtCancel !== undefined) metrics.transformer_calls_at_cancel = entry.callsAtCancel;
      return () => prediction.cancel(metrics);
    }
    if (error instanceof EditRejected) return () => prediction.fail(error.api);
    if (error instanceof UploadFailed) {
      return () => prediction.fail({ code: 'upload_failed', message: error.message });
    }
    const message = (error as Error).message ?? String(error);
    this.defunct = `internal error in prediction ${prediction.id}: ${message}`;
    this.options.log(`DEFUNCT: ${this.defunct}\n${(error as Error).stack ?? ''}`);
    return () => prediction.fail({ code: 'internal', message: `internal error: ${message}` });
  }

  private retain(prediction: Prediction): void {
    this.finished.set(prediction.id, prediction);
    for (const id of this.finished.keys()) {
      if (this.finished.size <= RETAINED_PREDICTIONS) break;
      this.finished.delete(id);
    }
  }
}
