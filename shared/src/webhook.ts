/**
 * Webhook deliveries: event names, the caller's events filter, and the payload, shaped like a
 * Standard Webhooks message ({type, timestamp, data}) whose data is the full job.
 */
import { z } from 'zod';
import { reportDuplicates } from './issues.ts';
import { JobSchema } from './job.ts';

/**
 * start: the job began processing; progress: a phase or step advanced (throttled);
 * output: a preview or the final image is available; completed: the job is terminal.
 */
export const WEBHOOK_EVENTS = ['start', 'progress', 'output', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WebhookEventsFilterSchema = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1)
  .max(WEBHOOK_EVENTS.length)
  .check((ctx) => reportDuplicates(ctx, 'event'))
  .meta({ description: 'Events to deliver; all of them when omitted.', uniqueItems: true });

/** Whether an event passes the caller's filter (no filter: every event). */
export function wantsEvent(filter: readonly WebhookEvent[] | undefined, event: WebhookEvent): boolean {
  return filter === undefined || filter.includes(event);
}

export const WebhookPayloadSchema = z
  .strictObject({
    type: z.enum(WEBHOOK_EVENTS),
    timestamp: z.iso.datetime({ offset: true }),
    data: JobSchema,
  })
  .meta({ title: 'WebhookPayload', description: 'Body of one webhook delivery.' });
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
