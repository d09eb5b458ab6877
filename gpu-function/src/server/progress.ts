/**
 * The pipeline's progress events as a prediction shows them: a structured `progress` object (phase,
 * step/total, loss, transformer calls) for programs, and one log line per event for people.
 */
import type { PredictionProgress } from '@dragflow/shared/prediction';
import type { ProgressEvent } from '../pipeline/edit.ts';

export function predictionProgress(event: ProgressEvent): PredictionProgress {
  return {
    phase: event.phase,
    step: event.step,
    total: event.total,
    loss: event.loss,
    transformer_calls: event.transformer_calls,
    ...(event.full_transform_loss === undefined ? {} : { full_transform_loss: event.full_transform_loss }),
  };
}

/** e.g. `transport 10/50 loss 1.234e-1 (full-transform loss 9.876e-1), 31 transformer calls`. */
export function progressLine(event: ProgressEvent): string {
  const loss = event.loss === null ? '' : ` loss ${event.loss.toExponential(3)}`;
  const full =
    event.full_transform_loss === undefined
      ? ''
      : ` (full-transform loss ${event.full_transform_loss.toExponential(3)})`;
  return `${event.phase} ${event.step}/${event.total}${loss}${full}, ${event.transformer_calls} transformer calls`;
}
