/**
 * The edge's own response shapes, beside the shared contract's (edit request, job, webhook
 * payload, error): the edit object with its URLs, uploads, usage, webhook deliveries and the
 * customer webhook payload. They exist for the OpenAPI document; the routes build these shapes.
 */
import { JobSchema } from '@dragflow/shared';
import { z } from 'zod';
import { EDIT_EVENT_TYPES } from '../webhooks/outbox.ts';

const url = z.string().meta({ format: 'uri' });
const timestamp = z.string().meta({ format: 'date-time' });

export const EditUrlsSchema = z
  .strictObject({ get: url, cancel: url, events: url, webhook_deliveries: url })
  .meta({ title: 'EditUrls' });

export const EditSchema = JobSchema.extend({ urls: EditUrlsSchema }).meta({
  title: 'Edit',
  description:
    'One edit: the Job of the shared contract plus its URLs. metrics holds price_credits (held at submit) and charged_credits (captured on success).',
});

export const UploadSchema = z
  .strictObject({
    id: z.string(),
    status: z.enum(['pending', 'ready']),
    content_type: z.string(),
    bytes: z.number().int().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    created_at: timestamp,
    upload_url: url.optional().meta({ description: 'Signed URL to PUT the bytes to (signed uploads only).' }),
    upload_method: z.literal('PUT').optional(),
    upload_headers: z.record(z.string(), z.string()).optional(),
    max_bytes: z.number().int().optional(),
    expires_at: timestamp.optional(),
  })
  .meta({ title: 'Upload' });

export const UploadRequestSchema = z
  .strictObject({ content_type: z.enum(['image/png', 'image/jpeg', 'image/webp']) })
  .meta({
    title: 'SignedUploadRequest',
    description: 'Ask for a signed PUT URL instead of sending the bytes.',
  });

export const LedgerLineSchema = z
  .strictObject({
    id: z.number().int(),
    edit_id: z.string().nullable(),
    kind: z.enum(['credit', 'hold', 'capture', 'release']),
    amount: z.number().int(),
    note: z.string().nullable(),
    created_at: timestamp,
  })
  .meta({ title: 'LedgerLine' });

export const UsageSchema = z
  .strictObject({
    available_credits: z.number().int(),
    held_credits: z.number().int(),
    ledger: z.array(LedgerLineSchema),
    next_before: z.number().int().nullable().meta({ description: 'Pass as ?before= for older lines.' }),
  })
  .meta({ title: 'Usage' });

export const DeliverySchema = z
  .strictObject({
    seq: z.number().int(),
    webhook_id: z.string(),
    type: z.enum(EDIT_EVENT_TYPES),
    created_at: timestamp,
    state: z.enum(['pending', 'delivered', 'failed', 'abandoned']),
    attempts: z.array(
      z.strictObject({
        at: timestamp,
        status: z.number().int().nullable(),
        error: z.string().nullable(),
        duration_ms: z.number(),
      }),
    ),
    next_attempt_at: timestamp.nullable(),
  })
  .meta({ title: 'WebhookDelivery' });

export const DeliveriesSchema = z
  .strictObject({ deliveries: z.array(DeliverySchema) })
  .meta({ title: 'WebhookDeliveries' });

export const EditEventSchema = z
  .strictObject({ type: z.enum(EDIT_EVENT_TYPES), timestamp, data: EditSchema })
  .meta({
    title: 'EditWebhook',
    description:
      'Body of a customer webhook, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the account whsec_ secret.',
  });

export const WebhookSecretSchema = z.strictObject({ secret: z.string() }).meta({ title: 'WebhookSecret' });
