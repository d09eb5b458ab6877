/**
 * The OpenAPI 3.1 document of the public API (GET /v1/openapi.json). Its schemas come from the
 * shared contract through shared's json-schema.ts (the same documents `npm run build:schema`
 * writes to shared/dist/schema) and from the edge's own response shapes (api-schemas.ts); the
 * paths are listed here. Built once per isolate.
 */
import { contractJsonSchema, ERROR_CODES, type ErrorCode } from '@dragflow/shared';
import { z } from 'zod';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE_S } from '../config.ts';
import {
  DeliveriesSchema,
  EditEventSchema,
  EditSchema,
  UploadRequestSchema,
  UploadSchema,
  UsageSchema,
  WebhookSecretSchema,
} from './api-schemas.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function component(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'output',
  }) as Record<string, Json>;
  return rest;
}

function contractComponent(name: Parameters<typeof contractJsonSchema>[0]): Json {
  const { $schema: _dialect, ...rest } = contractJsonSchema(name) as Record<string, Json>;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json) => ({ 'application/json': { schema } });

function errorResponses(codes: ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].http;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      { description: `Error: ${list.join(', ')}`, content: jsonContent(ref('ApiError')) },
    ]),
  );
}

const AUTH_ERRORS: ErrorCode[] = ['unauthorized', 'rate_limited'];
const REQUEST_ID = {
  'X-Request-Id': { description: 'Id of this request (every response has one).', schema: { type: 'string' } },
};
const idParameter = (what: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: what,
});

function operation(
  summary: string,
  description: string,
  responses: Record<string, Json>,
  extra: Record<string, Json> = {},
): Json {
  return { summary, description, ...extra, responses };
}

function ok(status: string, description: string, schema: Json): Record<string, Json> {
  return { [status]: { description, headers: REQUEST_ID, content: jsonContent(schema) } };
}

export function buildOpenApi(serverUrl: string): Json {
  const schedule = DEFAULT_WEBHOOK_RETRY_SCHEDULE_S.join(', ');
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'dragflow API',
      version: '1.0.0',
      description:
        'Pay-per-edit drag-based image editing (DragFlow on FLUX). Authenticate with `Authorization: Bearer <api key>`. ' +
        'Errors are an ApiError with a stable code. Edits are priced in credits when submitted (a hold), charged on success, released on failure, ' +
        'on cancel before the GPU starts, and on time-out.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths: {
      '/v1/uploads': {
        post: operation(
          'Upload an image',
          'Send image bytes (Content-Type image/png, image/jpeg or image/webp, up to 20 MiB), or JSON {"content_type"} to get a signed PUT URL. Use the id as {"upload": id} in an edit.',
          {
            ...ok('201', 'The upload', ref('Upload')),
            ...errorResponses([
              ...AUTH_ERRORS,
              'image_too_large',
              'unsupported_media_type',
              'image_unreadable',
              'media_type_mismatch',
              'invalid_json',
            ]),
          },
          {
            requestBody: {
              required: true,
              content: {
                'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
                'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } },
                'image/webp': { schema: { type: 'string', contentMediaType: 'image/webp' } },
                ...jsonContent(ref('SignedUploadRequest')),
              },
            },
          },
        ),
      },
      '/v1/uploads/{id}': {
        get: operation(
          'Get an upload',
          'Its status, type and, once checked, size.',
          {
            ...ok('200', 'The upload', ref('Upload')),
            ...errorResponses([...AUTH_ERRORS, 'not_found']),
          },
          { parameters: [idParameter('Upload id')] },
        ),
      },
      '/v1/edits': {
        post: operation(
          'Submit an edit',
          'Validates the request and the image (its header gives the size), holds the price and queues the edit. With Idempotency-Key, the same key and body return the same edit; the same key with another body is 409.',
          {
            ...ok('202', 'The accepted edit (also returned for an idempotent retry)', ref('Edit')),
            ...errorResponses([
              ...AUTH_ERRORS,
              'invalid_json',
              'invalid_header',
              'unknown_field',
              'invalid_url',
              'address_not_allowed',
              'not_found',
              'upload_incomplete',
              'insufficient_credits',
              'idempotency_conflict',
              'request_too_large',
              'image_too_large',
              'unsupported_media_type',
            ]),
          },
          {
            parameters: [
              {
                name: 'Idempotency-Key',
                in: 'header',
                required: false,
                schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
              },
            ],
            requestBody: { required: true, content: jsonContent(ref('EditRequest')) },
          },
        ),
      },
      '/v1/edits/{id}': {
        get: operation(
          'Get an edit',
          'Status, progress, result URLs (signed, expiring), error and metrics.',
          {
            ...ok('200', 'The edit', ref('Edit')),
            ...errorResponses([...AUTH_ERRORS, 'not_found']),
          },
          { parameters: [idParameter('Edit id')] },
        ),
      },
      '/v1/edits/{id}/cancel': {
        post: operation(
          'Cancel an edit',
          'Canceled before the GPU function started it: released. Canceled while running: charged. Already canceled: 200. Succeeded or failed: 409.',
          {
            ...ok('200', 'The canceled edit', ref('Edit')),
            ...errorResponses([...AUTH_ERRORS, 'not_found', 'invalid_transition']),
          },
          { parameters: [idParameter('Edit id')] },
        ),
      },
      '/v1/edits/{id}/events': {
        get: operation(
          'Stream an edit',
          'Server-Sent Events: `status` (the edit object) and `progress` ({progress: {phase, step, total, loss}, previews: [URL]}). Reconnect with Last-Event-ID (or ?last_event_id=) to replay what was missed; the stream ends after the terminal status.',
          {
            '200': {
              description: 'text/event-stream',
              headers: REQUEST_ID,
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...errorResponses([...AUTH_ERRORS, 'not_found', 'invalid_header']),
          },
          {
            parameters: [
              idParameter('Edit id'),
              {
                name: 'Last-Event-ID',
                in: 'header',
                required: false,
                schema: { type: 'string', pattern: '^\\d{1,12}$' },
              },
            ],
          },
        ),
      },
      '/v1/edits/{id}/webhook-deliveries': {
        get: operation(
          'Webhook deliveries of an edit',
          `Every event sent to the edit's webhook, in order, with each attempt. Failed attempts are retried after ${schedule} seconds (about 3 days); a 410 answer stops them.`,
          {
            ...ok('200', 'The deliveries', ref('WebhookDeliveries')),
            ...errorResponses([...AUTH_ERRORS, 'not_found']),
          },
          { parameters: [idParameter('Edit id')] },
        ),
      },
      '/v1/usage': {
        get: operation(
          'Balance and ledger',
          'Available and held credits, and ledger lines newest first (?limit=1-100, ?before=<line id>).',
          {
            ...ok('200', 'Usage', ref('Usage')),
            ...errorResponses([...AUTH_ERRORS, 'out_of_range']),
          },
        ),
      },
      '/v1/webhook-secret': {
        get: operation(
          'Webhook signing secret',
          "The account's whsec_ secret that signs its webhooks (Standard Webhooks).",
          {
            ...ok('200', 'The secret', ref('WebhookSecret')),
            ...errorResponses(AUTH_ERRORS),
          },
        ),
      },
    },
    webhooks: {
      edit: {
        post: {
          summary: 'Edit event',
          description:
            'edit.started, edit.progress (at most one per PROGRESS_WEBHOOK_INTERVAL_S, default 5 s), edit.succeeded, edit.failed, edit.canceled; filtered by webhook_events_filter (start, progress, output, completed). Verify webhook-signature with the account secret and dedupe on webhook-id.',
          requestBody: { content: jsonContent(ref('EditWebhook')) },
          responses: { '200': { description: 'Any 2xx acknowledges; 410 stops deliveries for the edit.' } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key (dfk_...)' } },
      schemas: {
        EditRequest: contractComponent('edit-request.json'),
        Job: contractComponent('job.json'),
        ApiError: contractComponent('error.json'),
        Edit: component(EditSchema),
        Upload: component(UploadSchema),
        SignedUploadRequest: component(UploadRequestSchema),
        Usage: component(UsageSchema),
        WebhookDeliveries: component(DeliveriesSchema),
        EditWebhook: component(EditEventSchema),
        WebhookSecret: component(WebhookSecretSchema),
      },
    },
  };
}

let cached: { url: string; document: Json } | undefined;

export function openApiDocument(serverUrl: string): Json {
  if (cached?.url !== serverUrl) cached = { url: serverUrl, document: buildOpenApi(serverUrl) };
  return cached.document;
}
