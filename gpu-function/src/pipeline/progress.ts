/**
 * One overall progress for an edit across its phases: the share of its transformer work done
 * (forward-pass equivalents so far over the plan's exact count, work-plan.ts) and the time left.
 *
 * Time left: before any transformer work, the plan's estimate; then the measured rate of the
 * work done so far applied to the work left (the first call includes no setup, so the rate is the
 * device's own). Preparing counts as 0% and the end of encoding as 100%.
 */
export interface OverallProgress {
  /** 0..100, one decimal. */
  percent: number;
  /** Whole seconds, estimated; null before the work plan exists. */
  seconds_left: number | null;
}

export class ProgressMeter {
  private started: number | null = null;

  constructor(
    private readonly totalWork: number,
    private readonly estimatedSeconds: number | null,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Marks the start of the transformer work (after graphs and sessions are ready). */
  start(): void {
    this.started = this.now();
  }

  /** `done`: forward-pass equivalents so far; `finished`: the edit's last step. */
  at(done: number, finished = false): OverallProgress {
    if (finished) return { percent: 100, seconds_left: 0 };
    const share = this.totalWork > 0 ? Math.min(1, done / this.totalWork) : 0;
    const elapsed = this.started === null ? 0 : this.now() - this.started;
    const left = done > 0 && elapsed > 0 ? (elapsed / done) * (this.totalWork - done) : this.estimatedSeconds;
    if (left === null) return { percent: 0, seconds_left: null };
    // 100% only once the edit is done (decoding and encoding follow the last model call).
    return {
      percent: Math.min(99.9, Math.floor(share * 1000) / 10),
      seconds_left: Math.max(0, Math.round(left)),
    };
  }
}
