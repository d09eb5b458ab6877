/**
 * The contract as JSON Schema (draft 2020-12) documents, rendered deterministically so the
 * build step's output only changes when the contract does. The GPU function serves the edit
 * request and the prediction output as Cog's Input and Output in /openapi.json; the edge puts the
 * public ones into its OpenAPI document and reads the GPU function's predictions with the others.
 */
import { z } from 'zod';
import { editRequestSchema } from './edit-request.ts';
import { ApiErrorSchema } from './errors.ts';
import { JobSchema } from './job.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import {
  HealthCheckSchema,
  PredictionOutputSchema,
  PredictionRequestSchema,
  PredictionSchema,
} from './prediction.ts';
import { DEFAULT_PRESET, PRESETS } from './presets.ts';
import { WebhookPayloadSchema } from './webhook.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * File name -> schema and direction. Requests are described as the caller sends them
 * (input); what the service sends back is described as it comes out (output).
 */
const DOCUMENTS = {
  'edit-request.json': { schema: editRequestSchema(DEFAULT_LIMITS), io: 'input' },
  'job.json': { schema: JobSchema, io: 'output' },
  'webhook-payload.json': { schema: WebhookPayloadSchema, io: 'output' },
  'error.json': { schema: ApiErrorSchema, io: 'output' },
  'prediction-request.json': { schema: PredictionRequestSchema, io: 'input' },
  'prediction.json': { schema: PredictionSchema, io: 'output' },
  'prediction-output.json': { schema: PredictionOutputSchema, io: 'output' },
  'health-check.json': { schema: HealthCheckSchema, io: 'output' },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output' }>;

export type SchemaFileName = keyof typeof DOCUMENTS;
export const SCHEMA_FILE_NAMES = Object.keys(DOCUMENTS) as SchemaFileName[];

/** Object keys sorted at every level; array order is meaningful and kept. */
function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key]!)]),
  );
}

/**
 * Annotates each option with its value in the default preset (JSON Schema `default`), so
 * generated docs and forms show what an omitted option means.
 */
function annotatePresetDefaults(editRequest: Json): void {
  const options = (
    editRequest as { properties: { options: { properties: Record<string, Record<string, Json>> } } }
  ).properties.options.properties;
  for (const [key, value] of Object.entries(PRESETS[DEFAULT_PRESET])) {
    const option = options[key];
    if (!option) throw new Error(`preset key ${key} is not an option`);
    option.default = value as Json;
  }
  options.preset!.default = DEFAULT_PRESET;
}

export function contractJsonSchema(name: SchemaFileName): Json {
  const { schema, io } = DOCUMENTS[name];
  const document = z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as Json;
  if (name === 'edit-request.json') annotatePresetDefaults(document);
  return sortKeys(document);
}

/** File name -> file text (sorted keys, two-space indent, trailing newline). */
export function renderContractJsonSchemas(): Record<SchemaFileName, string> {
  return Object.fromEntries(
    SCHEMA_FILE_NAMES.map((name) => [name, `${JSON.stringify(contractJsonSchema(name), null, 2)}\n`]),
  ) as Record<SchemaFileName, string>;
}
