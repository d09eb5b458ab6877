/**
 * `GET /openapi.json`: the server's OpenAPI 3.1 document, shaped like Cog's (components Input,
 * Output, PredictionRequest, PredictionResponse, Status, WebhookEvent). Every schema is the shared
 * contract's generated JSON Schema (shared/src/json-schema.ts); none is written here. Input is the
 * edit request less the two public-API fields a GPU function refuses (prediction-request.ts).
 */
import { contractJsonSchema } from '@dragflow/shared/json-schema';
import { COG_WEBHOOK_EVENTS, PREDICTION_STATUSES } from '@dragflow/shared/prediction';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A generated document as a component: the dialect is declared once, for the whole document. */
function component(name: Parameters<typeof contractJsonSchema>[0]): JsonObject {
  const { $schema: _dialect, ...schema } = contractJsonSchema(name) as JsonObject;
  return schema;
}

function inputSchema(): JsonObject {
  const schema = component('edit-request.json');
  const properties = { ...(schema.properties as JsonObject) };
  delete properties.webhook;
  delete properties.webhook_events_filter;
  const dependentRequired = { ...(schema.dependentRequired as JsonObject) };
  delete dependentRequired.webhook_events_filter;
  return { ...schema, title: 'Input', properties, dependentRequired };
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const idParameter = {
  name: 'prediction_id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
};

function createOperation(summary: string): JsonObject {
  return {
    summary,
    parameters: [
      {
        name: 'Prefer',
        in: 'header',
        required: false,
        schema: { type: 'string' },
        description: '"respond-async": answer 202 at once and report through the webhook.',
      },
    ],
    requestBody: { required: false, content: json('PredictionRequest') },
    responses: {
      '200': {
        description: 'The finished prediction (succeeded, failed or canceled).',
        content: json('PredictionResponse'),
      },
      '202': {
        description: 'Accepted (respond-async), or already running with this id.',
        content: json('PredictionResponse'),
      },
      '409': { description: 'At capacity: every slot is busy.', content: json('PredictionResponse') },
      '413': { description: 'Request body over the byte limit.', content: json('PredictionResponse') },
      '422': {
        description: 'Invalid request or input: a failed prediction with the error.',
        content: json('PredictionResponse'),
      },
      '503': {
        description: 'Setup not finished, failed, defunct or shutting down.',
        content: json('PredictionResponse'),
      },
    },
  };
}

export function openApiDocument(version: string): JsonObject {
  const empty = {
    description: 'An empty JSON object.',
    content: { 'application/json': { schema: { type: 'object' } } },
  };
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: 'dragflow GPU function (Cog HTTP API)', version },
    paths: {
      '/': { get: { summary: 'Discovery document', responses: { '200': empty } } },
      '/health-check': {
        get: {
          summary: 'Health and setup state (always 200)',
          responses: { '200': { description: 'Health', content: json('HealthCheck') } },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': empty } } },
      '/predictions': { post: createOperation('Create a prediction') },
      '/predictions/{prediction_id}': {
        put: { ...createOperation('Create a prediction idempotently'), parameters: [idParameter] },
      },
      '/predictions/{prediction_id}/cancel': {
        post: {
          summary: 'Cancel a prediction',
          parameters: [idParameter],
          responses: { '200': empty, '404': empty },
        },
      },
      '/shutdown': {
        post: { summary: 'Finish or cancel running work, then exit', responses: { '200': empty } },
      },
    },
    components: {
      schemas: {
        Input: inputSchema(),
        Output: component('prediction-output.json'),
        PredictionRequest: {
          ...component('prediction-request.json'),
          properties: {
            ...(component('prediction-request.json').properties as JsonObject),
            input: { $ref: '#/components/schemas/Input' },
          },
        },
        PredictionResponse: component('prediction.json'),
        HealthCheck: component('health-check.json'),
        Status: { type: 'string', enum: [...PREDICTION_STATUSES], title: 'Status' },
        WebhookEvent: { type: 'string', enum: [...COG_WEBHOOK_EVENTS], title: 'WebhookEvent' },
      },
    },
  };
}
