/**
 * The job (prediction) object: one edit from acceptance to its result, its status lifecycle
 * with the allowed transitions as data, and its progress report.
 */
import { z } from 'zod';
import { ApiErrorSchema } from './errors.ts';

export const JOB_STATUSES = ['queued', 'starting', 'processing', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Allowed status changes. queued: accepted, waiting for a GPU; starting: dispatched, the
 * worker loads the image and models; processing: the edit runs. The last three are terminal.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['starting', 'failed', 'canceled'],
  starting: ['processing', 'failed', 'canceled'],
  processing: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

export function isTerminal(status: JobStatus): boolean {
  return JOB_TRANSITIONS[status].length === 0;
}

/** Phases of one edit, in the order they run. */
export const PROGRESS_PHASES = [
  'preparing',
  'inverting',
  'transport',
  'intensify',
  'sampling',
  'decoding',
  'encoding',
] as const;
export type ProgressPhase = (typeof PROGRESS_PHASES)[number];

/** ISO 8601 date-time with an offset, as every timestamp of the API is written. */
export const TimestampSchema = z.iso.datetime({ offset: true });

export const ProgressSchema = z
  .strictObject({
    phase: z.enum(PROGRESS_PHASES),
    step: z.number().int().min(0).meta({ description: 'Steps of this phase done so far.' }),
    total: z.number().int().min(0).meta({ description: 'Steps this phase will run.' }),
    loss: z
      .number()
      .nullable()
      .meta({ description: 'Motion-supervision loss (transport and intensify), else null.' }),
  })
  .meta({ title: 'Progress' });
export type Progress = z.infer<typeof ProgressSchema>;

/** Where results live: https URLs in production, data URLs when no store is configured. */
export const ResultUrlSchema = z.string().min(1).meta({ format: 'uri' });

export const JobOutputSchema = z
  .strictObject({
    image: ResultUrlSchema.meta({ description: 'The edited image.' }),
    editable_mask: ResultUrlSchema.optional().meta({
      description: 'The mask the edit was confined to (PNG).',
    }),
    previews: z.array(ResultUrlSchema).meta({ description: 'Intermediate previews, oldest first.' }),
  })
  .meta({ title: 'JobOutput' });
export type JobOutput = z.infer<typeof JobOutputSchema>;

export const JobMetricsSchema = z
  .object({
    predict_time: z.number().min(0).optional().meta({ description: 'Seconds the GPU worked on the edit.' }),
    total_time: z.number().min(0).optional().meta({ description: 'Seconds from creation to completion.' }),
    peak_memory_bytes: z.number().int().min(0).optional(),
  })
  .catchall(z.number())
  .meta({ title: 'JobMetrics', description: 'Measurements; more numeric keys may appear.' });
export type JobMetrics = z.infer<typeof JobMetricsSchema>;

export const JobSchema = z
  .strictObject({
    id: z.string().min(1),
    status: z.enum(JOB_STATUSES),
    progress: ProgressSchema.nullable(),
    output: JobOutputSchema.nullable(),
    error: ApiErrorSchema.nullable(),
    metrics: JobMetricsSchema,
    metadata: z.record(z.string(), z.unknown()).meta({ description: 'Echo of the request metadata.' }),
    created_at: TimestampSchema,
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
  })
  .meta({ title: 'Job', description: 'One edit and its state (Cog calls this a prediction).' });
export type Job = z.infer<typeof JobSchema>;
