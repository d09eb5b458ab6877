import { contractJsonSchema } from '@dragflow/shared/json-schema';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/server/openapi.ts';

type Schema = Record<string, unknown> & { properties: Record<string, unknown> };
const schemas = (openApiDocument('test') as { components: { schemas: Record<string, Schema> } }).components
  .schemas;

describe('OpenAPI document', () => {
  it("takes Input from the shared edit request, less the public API's webhook fields", () => {
    const { $schema: _, ...editRequest } = contractJsonSchema('edit-request.json') as Schema;
    const { webhook: _w, webhook_events_filter: _f, ...properties } = editRequest.properties;
    expect(schemas.Input).toEqual({
      ...editRequest,
      title: 'Input',
      properties,
      dependentRequired: { editable_mask: ['drags'] },
    });
  });

  it('takes Output, the prediction and the health check from the shared contract as generated', () => {
    const { $schema: _o, ...output } = contractJsonSchema('prediction-output.json') as Schema;
    const { $schema: _p, ...prediction } = contractJsonSchema('prediction.json') as Schema;
    expect(schemas.Output).toEqual(output);
    expect(schemas.PredictionResponse).toEqual(prediction);
    expect(schemas.PredictionRequest!.properties.input).toEqual({ $ref: '#/components/schemas/Input' });
    expect(Object.keys(schemas)).toEqual([
      'Input',
      'Output',
      'PredictionRequest',
      'PredictionResponse',
      'HealthCheck',
      'Status',
      'WebhookEvent',
    ]);
  });

  it('holds valid draft 2020-12 schemas that judge an input as the contract does', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const [name, schema] of Object.entries(schemas)) {
      if (name === 'PredictionRequest') continue; // its $ref points into the OpenAPI document
      expect(ajv.validateSchema(schema)).toBe(true);
    }
    const input = ajv.compile(schemas.Input!);
    const drag = { image: { url: 'https://i.example/a.png' }, drags: [{ handle: [1, 2], target: [3, 4] }] };
    expect(input(drag)).toBe(true);
    expect(input({ ...drag, webhook: 'https://hooks.example/x' })).toBe(false);
  });
});
