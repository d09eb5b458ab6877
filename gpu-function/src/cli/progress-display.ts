/**
 * The edit's progress on stderr, one overall percentage and time left (pipeline/progress.ts):
 * - on a terminal, one line rewritten in place: bar, percent, time left, phase step/total, loss;
 * - otherwise (a pipe, a log file, CI) plain lines, one each time the overall share passes another
 *   LINE_EVERY_PERCENT or the phase changes, so a long edit is visibly alive in a log; the first
 *   once the work plan is known (a refused request prints only its error).
 */
import type { ProgressEvent } from '../pipeline/edit.ts';

export const LINE_EVERY_PERCENT = 5;

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function timeLeft(event: ProgressEvent): string {
  return event.seconds_left === null ? '' : ` (${formatSeconds(event.seconds_left)} left)`;
}

function describe(event: ProgressEvent): string {
  const loss = event.loss === null ? '' : `, loss ${event.loss.toExponential(3)}`;
  return `${event.phase} ${event.step}/${event.total}${loss}`;
}

export interface ProgressDisplay {
  onProgress(event: ProgressEvent): void;
  /** Ends the display (a terminal's line), also before an error message. */
  end(): void;
}

export function progressDisplay(stream: NodeJS.WriteStream): ProgressDisplay {
  if (stream.isTTY) {
    let drawn = false;
    return {
      onProgress(event) {
        const width = 24;
        const filled = Math.round((event.percent / 100) * width);
        const line =
          `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(event.percent)).padStart(3)}%` +
          `${timeLeft(event)}  ${describe(event)}`;
        stream.write(`\r${line.padEnd(78)}`);
        drawn = true;
      },
      end() {
        if (drawn) stream.write('\n');
      },
    };
  }
  let lastBucket = -1;
  let lastPhase = '';
  return {
    onProgress(event) {
      if (event.seconds_left === null) return;
      const bucket = Math.floor(event.percent / LINE_EVERY_PERCENT);
      if (bucket === lastBucket && event.phase === lastPhase) return;
      lastBucket = bucket;
      lastPhase = event.phase;
      stream.write(`progress ${Math.floor(event.percent)}%${timeLeft(event)}: ${describe(event)}\n`);
    },
    end() {},
  };
}
