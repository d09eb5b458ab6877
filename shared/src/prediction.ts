/**
 * The Cog prediction API the GPU function speaks (Cog's HTTP contract as its Rust server, coglet,
 * implements it): the body of `POST /predictions` and `PUT /predictions/{id}`, the prediction
 * object it answers and posts to webhooks, Cog's webhook events and the health-check document.
 * The edge builds requests and reads webhooks with these schemas; the GPU function emits them.
 *
 * Beyond Cog, a prediction carries `progress` (the edit's phase, step/total and loss, so a caller
 * needs no log parsing) and `error_detail` (the contract's error code, message and paths next to
 * Cog's `error` string).
 */
import { z } from 'zod';
import { ApiErrorSchema } from './errors.ts';
import { reportDuplicates } from './issues.ts';
import { JobMetricsSchema, type JobStatus, ProgressSchema, ResultUrlSchema, TimestampSchema } from './job.ts';

/** Cog's statuses: the job lifecycle (job.ts) without `queued`, which a GPU function never holds. */
export const PREDICTION_STATUSES = [
  'starting',
  'processing',
  'succeeded',
  'failed',
  'canceled',
] as const satisfies readonly JobStatus[];
export type PredictionStatus = (typeof PREDICTION_STATUSES)[number];

/**
 * start: the prediction began processing (once); output: its output changed (a preview or the
 * result); logs: a log line was written (every progress step writes one); completed: terminal.
 */
export const COG_WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'] as const;
export type CogWebhookEvent = (typeof COG_WEBHOOK_EVENTS)[number];

/** Caller-chosen prediction ids: Cog suggests 26 base32 characters; we allow these, up to 128. */
export const PREDICTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export const PredictionIdSchema = z
  .string()
  .regex(PREDICTION_ID_PATTERN)
  .meta({ description: 'Prediction id: 1-128 of A-Z, a-z, 0-9, _ and -.' });

export const PredictionRequestSchema = z
  .strictObject({
    id: PredictionIdSchema.optional(),
    input: z
      .unknown()
      .optional()
      .meta({ description: 'The edit request (the Input schema); absent or null reads as {} as in Cog.' }),
    webhook: z
      .string()
      .max(2048)
      .meta({ format: 'uri', description: 'URL that receives the prediction object on each event.' })
      .optional(),
    webhook_events_filter: z
      .array(z.enum(COG_WEBHOOK_EVENTS))
      .min(1)
      .check((ctx) => reportDuplicates(ctx, 'event'))
      .meta({ description: 'Events to deliver; all four when omitted.', uniqueItems: true })
      .optional(),
  })
  .meta({ title: 'PredictionRequest', description: 'Body of POST /predictions and PUT /predictions/{id}.' });
export type PredictionRequest = z.infer<typeof PredictionRequestSchema>;

export const PredictionProgressSchema = ProgressSchema.extend({
  transformer_calls: z.number().int().min(0).meta({ description: 'Transformer calls made so far.' }),
  full_transform_loss: z
    .number()
    .optional()
    .meta({ description: 'Loss to the full transforms, on the drag iterations where it is measured.' }),
}).meta({ title: 'PredictionProgress', description: 'Where the edit is: phase, step/total, loss.' });
export type PredictionProgress = z.infer<typeof PredictionProgressSchema>;

export const PredictionOutputSchema = z
  .strictObject({
    image: ResultUrlSchema.optional().meta({ description: 'The edited image (once succeeded).' }),
    editable_mask: ResultUrlSchema.optional().meta({
      description: 'The mask B the edit was confined to, PNG at image size (once succeeded).',
    }),
    metrics: ResultUrlSchema.optional().meta({
      description: 'The full per-edit metrics as JSON (with options.output_metrics).',
    }),
    previews: z
      .array(ResultUrlSchema)
      .meta({ description: 'Small PNG previews (options.preview_interval), oldest first.' }),
  })
  .meta({
    title: 'Output',
    description: 'Uploaded file URLs with an upload URL, data URIs without one.',
  });
export type PredictionOutput = z.infer<typeof PredictionOutputSchema>;

export const PredictionSchema = z
  .strictObject({
    id: PredictionIdSchema,
    version: z.string().meta({ description: 'The model bundle: its model name and manifest hash.' }),
    input: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The input as received; inline images shortened to their media type and size.' }),
    output: PredictionOutputSchema.nullable(),
    logs: z.string().meta({ description: 'Log lines, one per progress step and per file stored.' }),
    error: z.string().nullable().meta({ description: "Cog's error message (failed only)." }),
    error_detail: ApiErrorSchema.nullable().meta({
      description: 'The same error with its stable code and the contract errors (failed only).',
    }),
    status: z.enum(PREDICTION_STATUSES),
    progress: PredictionProgressSchema.nullable(),
    metrics: JobMetricsSchema,
    created_at: TimestampSchema,
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
  })
  .meta({ title: 'Prediction', description: 'One edit as the Cog API reports it.' });
export type Prediction = z.infer<typeof PredictionSchema>;

export const HEALTH_STATUSES = ['STARTING', 'READY', 'BUSY', 'SETUP_FAILED', 'DEFUNCT'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const HealthCheckSchema = z
  .strictObject({
    status: z.enum(HEALTH_STATUSES),
    setup: z
      .strictObject({
        started_at: TimestampSchema,
        completed_at: TimestampSchema.nullable(),
        status: z.enum(['starting', 'succeeded', 'failed']),
        logs: z.string(),
      })
      .nullable(),
    /** Why the server is DEFUNCT or SETUP_FAILED, in one line. */
    error: z.string().nullable(),
  })
  .meta({ title: 'HealthCheck', description: 'Body of GET /health-check (always HTTP 200).' });
export type HealthCheck = z.infer<typeof HealthCheckSchema>;
