/**
 * Webhooks of one prediction, with Cog's semantics: the whole prediction object is POSTed on the
 * events the caller's filter keeps (start, output, logs, completed; all by default), with
 * `Authorization: Bearer $WEBHOOK_AUTH_TOKEN` when that is set.
 *
 * - Deliveries go out one at a time, in order: start first, completed last.
 * - Non-terminal events are throttled: a delivery starts at least WEBHOOK_INTERVAL_MS after the
 *   previous one ENDED (so receivers see them at least that far apart). Events arriving in
 *   between are coalesced into one delivery of the latest state, sent when the interval is over,
 *   so the last state before a quiet spell is never lost (Cog drops them instead). Each is tried
 *   once.
 * - The terminal event waits for the delivery in flight, then is retried on 429, 500, 502, 503,
 *   504 and network errors, up to WEBHOOK_RETRIES times with backoff 100 ms x 2^attempt (Cog).
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { COG_WEBHOOK_EVENTS, type CogWebhookEvent } from '@dragflow/shared/prediction';
import { OutboundError, redactUrl, sendOutbound } from './outbound.ts';

export const WEBHOOK_INTERVAL_MS = 500;
export const WEBHOOK_RETRIES = 12;
export const WEBHOOK_BACKOFF_BASE_MS = 100;
export const WEBHOOK_RETRY_STATUSES: readonly number[] = [429, 500, 502, 503, 504];
/** Time allowed for one delivery (Cog's client timeout). */
export const WEBHOOK_TIMEOUT_MS = 30_000;
/** Bytes read from a receiver's answer (the status is what counts). */
const ANSWER_BYTES = 64 * 1024;

/** Time as the sender sees it; tests pass a virtual clock so no assertion depends on the machine's speed. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
};

export interface WebhookSenderOptions {
  url: URL;
  /** The caller's webhook_events_filter; every event when absent. */
  filter?: readonly CogWebhookEvent[];
  authToken?: string;
  allowLoopback: boolean;
  /** The prediction object to send, taken when a delivery starts. */
  snapshot: () => unknown;
  log: (line: string) => void;
  clock?: Clock;
}

export type DeliveryOutcome = 'delivered' | 'failed' | 'filtered';

export class WebhookSender {
  private readonly filter: ReadonlySet<CogWebhookEvent>;
  private readonly clock: Clock;
  private pending = false;
  private lastEnded = Number.NEGATIVE_INFINITY;
  private looping = false;
  private running: Promise<void> = Promise.resolve();
  private terminal = false;
  private readonly wake = new AbortController();

  constructor(private readonly options: WebhookSenderOptions) {
    this.filter = new Set(options.filter ?? COG_WEBHOOK_EVENTS);
    this.clock = options.clock ?? systemClock;
  }

  /** A non-terminal event happened: deliver the state now, or once the interval is over. */
  notify(event: Exclude<CogWebhookEvent, 'completed'>): void {
    if (this.terminal || !this.filter.has(event)) return;
    this.pending = true;
    if (this.looping) return;
    this.looping = true;
    this.running = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending && !this.terminal) {
        const wait = this.lastEnded + WEBHOOK_INTERVAL_MS - this.clock.now();
        if (wait > 0) await this.clock.sleep(wait, this.wake.signal);
        if (this.terminal) break;
        this.pending = false;
        await this.attempt().catch((error: Error) =>
          this.options.log(`webhook not delivered: ${error.message}`),
        );
        this.lastEnded = this.clock.now();
      }
    } finally {
      // Cleared in the same turn the loop ends, so a notify that comes next starts a new loop.
      this.looping = false;
    }
  }

  /** The prediction is terminal: deliver `completed` after the delivery in flight, with retries. */
  async complete(): Promise<DeliveryOutcome> {
    this.terminal = true;
    this.wake.abort();
    await this.running;
    if (!this.filter.has('completed')) return 'filtered';
    for (let attempt = 0; ; attempt++) {
      let retry: boolean;
      let reason: string;
      try {
        const status = await this.attempt();
        if (status >= 200 && status <= 299) return 'delivered';
        retry = WEBHOOK_RETRY_STATUSES.includes(status);
        reason = `HTTP ${status}`;
      } catch (error) {
        retry = error instanceof OutboundError && (error.kind === 'network' || error.kind === 'timeout');
        reason = (error as Error).message;
      }
      if (!retry || attempt >= WEBHOOK_RETRIES) {
        this.options.log(
          `completed webhook to ${redactUrl(this.options.url)} given up after ${attempt + 1} attempt(s): ${reason}`,
        );
        return 'failed';
      }
      const backoff = WEBHOOK_BACKOFF_BASE_MS * 2 ** Math.min(attempt + 1, 10);
      this.options.log(
        `completed webhook to ${redactUrl(this.options.url)}: ${reason}, retry in ${backoff} ms`,
      );
      await this.clock.sleep(backoff);
    }
  }

  /** One POST of the current state; resolves with the receiver's status. */
  private async attempt(): Promise<number> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'dragflow-gpu-function',
    };
    if (this.options.authToken) headers.authorization = `Bearer ${this.options.authToken}`;
    const answer = await sendOutbound({
      method: 'POST',
      url: this.options.url,
      headers,
      body: JSON.stringify(this.options.snapshot()),
      allowLoopback: this.options.allowLoopback,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      maxBytes: ANSWER_BYTES,
    });
    return answer.status;
  }
}
