/**
 * A GPU function's prediction update, read into the edge's `GpuReport`. Cog-compatible servers
 * (ours) send the prediction object with a structured `progress` and `error_detail`; Replicate
 * sends its own prediction (status `aborted` too, no `progress`), so progress there comes from
 * the log lines our GPU function writes, e.g. `transport 10/50 loss 1.234e-1, 31 transformer calls`.
 * Unknown fields are tolerated; wrong types are refused with the path at fault.
 */
import {
  ApiErrorSchema,
  COG_WEBHOOK_EVENTS,
  PREDICTION_STATUSES,
  PROGRESS_PHASES,
  PredictionOutputSchema,
  PredictionProgressSchema,
  validate,
} from '@dragflow/shared';
import { z } from 'zod';
import type { GpuReport } from '../edits/state-machine.ts';

/** Every webhook event the edge asks for: start, output (previews, result), logs (progress), completed. */
export const GPU_WEBHOOK_EVENTS = COG_WEBHOOK_EVENTS;

/**
 * The shared Cog prediction (shared/src/prediction.ts), loosened to also read Replicate's: its
 * `aborted` status, no `progress` or `error_detail`, and fields of its own.
 */
const PredictionReportSchema = z.looseObject({
  id: z.string(),
  status: z.enum([...PREDICTION_STATUSES, 'aborted']),
  output: PredictionOutputSchema.nullable().optional(),
  error: z.string().nullable().optional(),
  error_detail: ApiErrorSchema.nullable().optional(),
  progress: PredictionProgressSchema.nullable().optional(),
  logs: z.string().nullable().optional(),
  metrics: z.record(z.string(), z.unknown()).nullable().optional(),
});

const LOG_LINE = new RegExp(
  `^(${PROGRESS_PHASES.join('|')}) (\\d+)/(\\d+)(?: loss (\\S+))?(?: \\(full-transform loss \\S+\\))?, (\\d+) transformer calls$`,
  'gm',
);

/** The latest progress written in the logs, for GPU hosts that pass logs but not `progress`. */
export function progressFromLogs(logs: string): GpuReport['progress'] {
  let last: RegExpExecArray | undefined;
  for (const match of logs.matchAll(LOG_LINE)) last = match;
  if (!last) return null;
  const loss = last[4] === undefined ? null : Number(last[4]);
  return {
    phase: last[1] as (typeof PROGRESS_PHASES)[number],
    step: Number(last[2]),
    total: Number(last[3]),
    loss: loss === null || Number.isFinite(loss) ? loss : null,
    transformer_calls: Number(last[5]),
  };
}

function numericMetrics(metrics: Record<string, unknown> | null | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics ?? {}).filter(
      (entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]),
    ),
  );
}

export type ReportResult =
  | { ok: true; predictionId: string; report: GpuReport }
  | { ok: false; message: string };

/** Reads a prediction object (Cog's or Replicate's) posted to a callback. */
export function readPredictionReport(json: unknown): ReportResult {
  const parsed = validate(PredictionReportSchema, json);
  if (!parsed.ok) return { ok: false, message: parsed.errors.map((error) => error.message).join('; ') };
  const prediction = parsed.value;
  const detail = prediction.error_detail ?? null;
  const error =
    detail ?? (prediction.error ? { code: 'internal', message: `GPU function: ${prediction.error}` } : null);
  return {
    ok: true,
    predictionId: prediction.id,
    report: {
      // Replicate's aborted: stopped before it ran; for the edge that is a cancel it did not ask for.
      status: prediction.status === 'aborted' ? 'canceled' : prediction.status,
      progress: prediction.progress ?? progressFromLogs(prediction.logs ?? ''),
      output: prediction.output
        ? {
            previews: prediction.output.previews,
            ...(prediction.output.image === undefined ? {} : { image: prediction.output.image }),
            ...(prediction.output.editable_mask === undefined
              ? {}
              : { editable_mask: prediction.output.editable_mask }),
          }
        : null,
      error:
        prediction.status === 'failed'
          ? (error ?? { code: 'internal', message: 'GPU function failed without a reason' })
          : null,
      metrics: numericMetrics(prediction.metrics),
    },
  };
}
