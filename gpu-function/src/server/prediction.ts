/**
 * One prediction as an explicit state machine around Cog's prediction object.
 *
 *   starting --start()--> processing --succeed()--> succeeded
 *       |                     |--------fail()-----> failed
 *       |                     '-------cancel()----> canceled
 *       '------fail() / cancel()-----> failed / canceled   (refused or stopped before it ran)
 *
 * The allowed transitions are the shared job lifecycle's (canTransition); anything else is a bug
 * and throws. Every change reaches the listeners as the Cog webhook event it stands for: `start`
 * on processing, `logs` on each log line (each progress step writes one), `output` when the output
 * changes, `completed` on a terminal state.
 */
import type { ApiError } from '@dragflow/shared/errors';
import { canTransition, isTerminal } from '@dragflow/shared/job';
import type {
  CogWebhookEvent,
  Prediction as PredictionJson,
  PredictionOutput,
  PredictionProgress,
  PredictionStatus,
} from '@dragflow/shared/prediction';

export type PredictionListener = (event: CogWebhookEvent, prediction: Prediction) => void;

/** Inline images are echoed as their media type and size: a 20 MB data URI in every webhook helps nobody. */
const ECHO_MAX_DATA_CHARS = 64;

function echo(value: unknown): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith('data:') || value.length <= ECHO_MAX_DATA_CHARS) return value;
    const comma = value.indexOf(',');
    const header = comma < 0 ? 'data:' : value.slice(0, comma + 1);
    return `${header}<${value.length - header.length} characters not echoed>`;
  }
  if (Array.isArray(value)) return value.map(echo);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, echo(inner)]));
  }
  return value;
}

/** The request's input as a prediction echoes it (always an object, as Cog's input is). */
export function echoInput(input: unknown): Record<string, unknown> {
  const echoed = echo(input);
  return echoed !== null && typeof echoed === 'object' && !Array.isArray(echoed)
    ? (echoed as Record<string, unknown>)
    : { value: echoed };
}

export class Prediction {
  private state: PredictionStatus = 'starting';
  private readonly createdAt = new Date();
  private startedAt: Date | null = null;
  private completedAt: Date | null = null;
  private logs = '';
  private output: PredictionOutput | null = null;
  private error: ApiError | null = null;
  private progressNow: PredictionProgress | null = null;
  private metrics: Record<string, number> = {};
  private readonly listeners: PredictionListener[] = [];
  private readonly input: Record<string, unknown>;
  /** Resolves once the prediction is terminal. */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    readonly id: string,
    input: unknown,
    private readonly version: string,
  ) {
    this.input = echoInput(input);
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  get status(): PredictionStatus {
    return this.state;
  }

  get terminal(): boolean {
    return isTerminal(this.state);
  }

  onEvent(listener: PredictionListener): void {
    this.listeners.push(listener);
  }

  private emit(event: CogWebhookEvent): void {
    for (const listener of this.listeners) listener(event, this);
  }

  private transition(to: PredictionStatus): void {
    if (!canTransition(this.state, to)) {
      throw new Error(`prediction ${this.id}: ${this.state} -> ${to} is not an allowed transition`);
    }
    this.state = to;
    if (to === 'processing') {
      this.startedAt = new Date();
      this.emit('start');
      return;
    }
    this.completedAt = new Date();
    const started = this.startedAt ?? this.completedAt;
    this.metrics.predict_time = (this.completedAt.getTime() - started.getTime()) / 1000;
    this.emit('completed');
    this.settle();
  }

  start(): void {
    this.transition('processing');
  }

  /** Nothing changes a terminal prediction: a late write is a bug, not something to publish. */
  private assertOpen(what: string): void {
    if (this.terminal) throw new Error(`prediction ${this.id}: ${what} after it ended ${this.state}`);
  }

  log(line: string): void {
    this.assertOpen('a log line');
    this.logs += `${line}\n`;
    this.emit('logs');
  }

  /** The structured progress and its readable log line, one event. */
  progress(progress: PredictionProgress, line: string): void {
    this.progressNow = progress;
    this.log(line);
  }

  addPreview(url: string): void {
    this.assertOpen('a preview');
    this.output = { ...(this.output ?? { previews: [] }) };
    this.output.previews = [...this.output.previews, url];
    this.emit('output');
  }

  succeed(files: Omit<PredictionOutput, 'previews'>, metrics: Record<string, number>): void {
    this.output = { previews: this.output?.previews ?? [], ...files };
    this.emit('output');
    this.metrics = { ...metrics };
    this.transition('succeeded');
  }

  fail(error: ApiError, metrics: Record<string, number> = {}): void {
    this.error = error;
    this.metrics = { ...metrics };
    this.transition('failed');
  }

  cancel(metrics: Record<string, number> = {}): void {
    this.metrics = { ...metrics };
    this.transition('canceled');
  }

  toJSON(): PredictionJson {
    return {
      id: this.id,
      version: this.version,
      input: this.input,
      output: this.output,
      logs: this.logs,
      error: this.error?.message ?? null,
      error_detail: this.error,
      status: this.state,
      progress: this.progressNow,
      metrics: { ...this.metrics },
      created_at: this.createdAt.toISOString(),
      started_at: this.startedAt?.toISOString() ?? null,
      completed_at: this.completedAt?.toISOString() ?? null,
    };
  }
}
