/**
 * The life of one edit inside its Durable Object, as data:
 *
 *   queued --dispatch--> dispatched --GPU start/progress--> running --GPU succeeded--> succeeded
 *     |                      |                                |------GPU failed-----> failed
 *     |                      |--(time-out, first attempt)--> queued (re-dispatched once)
 *     '--cancel--> canceled  '--cancel / GPU failed / GPU succeeded / time-out--> ...
 *
 * Every GPU report is judged against the current state: a report for an earlier attempt, one
 * after a terminal state, a progress older than what is known, or a status that would go
 * backwards changes nothing, so late, duplicate and out-of-order callbacks are harmless.
 */
import { type JobStatus, PROGRESS_PHASES, type Progress } from '@dragflow/shared';

export const EDIT_STATUSES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type EditStatus = (typeof EDIT_STATUSES)[number];

export const EDIT_TRANSITIONS: Readonly<Record<EditStatus, readonly EditStatus[]>> = {
  queued: ['dispatched', 'failed', 'canceled'],
  dispatched: ['running', 'queued', 'succeeded', 'failed', 'canceled'],
  running: ['queued', 'succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
};

export function canMove(from: EditStatus, to: EditStatus): boolean {
  return EDIT_TRANSITIONS[from].includes(to);
}

export function isFinished(status: EditStatus): boolean {
  return EDIT_TRANSITIONS[status].length === 0;
}

/** The public job status (shared contract) of an internal state. */
export function publicStatus(status: EditStatus): JobStatus {
  switch (status) {
    case 'queued':
      return 'queued';
    case 'dispatched':
      return 'starting';
    case 'running':
      return 'processing';
    default:
      return status;
  }
}

/** A GPU function's report on one attempt, normalised from Cog's or Replicate's prediction. */
export interface GpuReport {
  readonly status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  readonly progress: (Progress & { readonly transformer_calls?: number }) | null;
  /** Result and preview locations as the GPU function gave them (URLs or data URIs). */
  readonly output: {
    readonly image?: string;
    readonly editable_mask?: string;
    readonly previews: string[];
  } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Orders progress reports: later phase first, then more steps. */
export function progressRank(progress: Progress): number {
  return PROGRESS_PHASES.indexOf(progress.phase) * 1_000_000 + progress.step;
}

export type Verdict =
  | { readonly kind: 'move'; readonly to: EditStatus }
  | { readonly kind: 'progress' }
  | { readonly kind: 'ignore'; readonly reason: string };

/**
 * What a GPU report means for an edit in `status` whose latest known progress is `known` and
 * which holds `knownPreviews` previews.
 * `move` to a terminal status on succeeded / failed / canceled (a canceled the edge did not ask
 * for is the caller's to turn into a re-dispatch), to running on the first sign of work.
 */
export function judgeReport(
  status: EditStatus,
  known: Progress | null,
  knownPreviews: number,
  report: GpuReport,
): Verdict {
  if (isFinished(status)) return { kind: 'ignore', reason: `the edit is already ${status}` };
  if (status === 'queued') return { kind: 'ignore', reason: 'the edit is not dispatched' };
  switch (report.status) {
    case 'succeeded':
      if (!report.output?.image) return { kind: 'move', to: 'failed' };
      return { kind: 'move', to: 'succeeded' };
    case 'failed':
      return { kind: 'move', to: 'failed' };
    case 'canceled':
      return { kind: 'move', to: 'canceled' };
    case 'processing': {
      if (status === 'dispatched') return { kind: 'move', to: 'running' };
      const newer = report.progress && (!known || progressRank(report.progress) > progressRank(known));
      const morePreviews = (report.output?.previews.length ?? 0) > knownPreviews;
      return newer || morePreviews
        ? { kind: 'progress' }
        : { kind: 'ignore', reason: 'nothing newer than known' };
    }
    case 'starting':
      return { kind: 'ignore', reason: 'the GPU function has not started the edit yet' };
  }
}
