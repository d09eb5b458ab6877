/**
 * Customer webhook deliveries of one edit, kept in its Durable Object's SQLite: one row per
 * event, delivered strictly in event order (a later event waits until the earlier one is
 * delivered or given up), with the same webhook-id on every retry so receivers can dedupe.
 * Failed attempts are retried on the schedule in config (default 5 s, 5 min, 30 min, 2 h, 5 h,
 * 10 h, 14 h, 20 h, 24 h: about 3 days); a 410 answer stops all deliveries of the edit, later
 * events included.
 */

export const EDIT_EVENT_TYPES = [
  'edit.started',
  'edit.progress',
  'edit.succeeded',
  'edit.failed',
  'edit.canceled',
] as const;
export type EditEventType = (typeof EDIT_EVENT_TYPES)[number];

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'abandoned';

export interface DeliveryAttempt {
  readonly at: string;
  readonly status: number | null;
  readonly error: string | null;
  readonly duration_ms: number;
}

export interface Delivery {
  readonly seq: number;
  readonly webhook_id: string;
  readonly type: EditEventType;
  readonly created_at: string;
  readonly state: DeliveryState;
  readonly attempts: DeliveryAttempt[];
  readonly next_attempt_at: string | null;
  /** The edit as it was when the event happened (internal snapshot JSON). */
  readonly snapshot: string;
}

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  webhook_id: string;
  type: string;
  created_at: string;
  state: string;
  attempts: string;
  next_at: number | null;
  snapshot: string;
}

function fromRow(row: Row): Delivery {
  return {
    seq: row.seq,
    webhook_id: row.webhook_id,
    type: row.type as EditEventType,
    created_at: row.created_at,
    state: row.state as DeliveryState,
    attempts: JSON.parse(row.attempts) as DeliveryAttempt[],
    next_attempt_at: row.next_at === null ? null : new Date(row.next_at).toISOString(),
    snapshot: row.snapshot,
  };
}

export class Outbox {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS deliveries (
      seq INTEGER PRIMARY KEY,
      webhook_id TEXT NOT NULL,
      type TEXT NOT NULL,
      created_at TEXT NOT NULL,
      state TEXT NOT NULL,
      attempts TEXT NOT NULL,
      next_at INTEGER,
      snapshot TEXT NOT NULL
    )`);
  }

  /** Queues a delivery; after a 410 from the receiver (`gone`) it is recorded as abandoned instead. */
  enqueue(seq: number, webhookId: string, type: EditEventType, snapshot: string, nowMs: number): void {
    const gone =
      this.sql.exec("SELECT 1 FROM deliveries WHERE state = 'abandoned' LIMIT 1").toArray().length > 0;
    this.sql.exec(
      'INSERT INTO deliveries (seq, webhook_id, type, created_at, state, attempts, next_at, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      seq,
      webhookId,
      type,
      new Date(nowMs).toISOString(),
      gone ? 'abandoned' : 'pending',
      '[]',
      gone ? null : nowMs,
      snapshot,
    );
  }

  /** The first pending delivery (the head of the line), due or not. */
  head(): Delivery | undefined {
    const rows = this.sql
      .exec<Row>("SELECT * FROM deliveries WHERE state = 'pending' ORDER BY seq LIMIT 1")
      .toArray();
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  record(seq: number, attempts: DeliveryAttempt[], state: DeliveryState, nextAtMs: number | null): void {
    this.sql.exec(
      'UPDATE deliveries SET attempts = ?, state = ?, next_at = ? WHERE seq = ?',
      JSON.stringify(attempts),
      state,
      nextAtMs,
      seq,
    );
  }

  /** After a 410: every delivery still pending is given up. */
  abandonPending(): void {
    this.sql.exec("UPDATE deliveries SET state = 'abandoned', next_at = NULL WHERE state = 'pending'");
  }

  list(): Delivery[] {
    return this.sql.exec<Row>('SELECT * FROM deliveries ORDER BY seq').toArray().map(fromRow);
  }
}

/** When to try again after `failedAttempts` failures, or null when the schedule is spent. */
export function nextAttemptAt(
  failedAttempts: number,
  scheduleS: readonly number[],
  nowMs: number,
  retryAfterS: number | undefined,
): number | null {
  const step = scheduleS[failedAttempts - 1];
  if (step === undefined) return null;
  const wait = Math.max(step, Math.min(retryAfterS ?? 0, 86_400));
  return nowMs + wait * 1000;
}

export interface SendResult {
  readonly status: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly retryAfterS: number | undefined;
}

/** The receiver gets this long to answer (Standard Webhooks suggests 15-30 s). */
export const DELIVERY_TIMEOUT_MS = 15_000;

export async function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<SendResult> {
  const started = Date.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'dragflow-webhooks/1', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.body?.cancel();
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      error: null,
      durationMs: Date.now() - started,
      retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  } catch (error) {
    return {
      status: null,
      error: error instanceof Error ? error.message : String(error),
      durationMs: Date.now() - started,
      retryAfterS: undefined,
    };
  }
}
