/**
 * The JSON Schema files written by `npm run build:schema` (the root pretest runs it): they
 * must equal a fresh rendering, be valid draft 2020-12 documents, and judge sample documents
 * the way the zod contract does.
 */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseEditRequest } from '../src/edit-request.ts';
import { renderContractJsonSchemas, SCHEMA_FILE_NAMES, type SchemaFileName } from '../src/json-schema.ts';
import { dataUri, pngHeader } from './image-bytes.ts';

const SCHEMA_DIR = new URL('../dist/schema/', import.meta.url);
const rendered = renderContractJsonSchemas();

function written(name: SchemaFileName): string {
  try {
    return readFileSync(new URL(name, SCHEMA_DIR), 'utf8');
  } catch {
    throw new Error(`shared/dist/schema/${name} is missing: run npm run build:schema`);
  }
}

// Formats (uri, date-time) are annotations here; the patterns beside them carry the rules.
// strictRequired is off: "exactly one of" is written as oneOf branches that only list
// `required`, the idiomatic form, which that lint flags.
const ajv = new Ajv2020({ strict: true, strictRequired: false, validateFormats: false, allErrors: true });
const validators = Object.fromEntries(
  SCHEMA_FILE_NAMES.map((name) => [name, ajv.compile(JSON.parse(rendered[name]))]),
) as Record<SchemaFileName, ReturnType<typeof ajv.compile>>;

describe('contract JSON Schema files', () => {
  it('are the documents the consumers read', () => {
    expect(SCHEMA_FILE_NAMES).toEqual([
      'edit-request.json',
      'job.json',
      'webhook-payload.json',
      'error.json',
      'prediction-request.json',
      'prediction.json',
      'prediction-output.json',
      'health-check.json',
    ]);
  });

  it.each(SCHEMA_FILE_NAMES)('%s on disk equals a fresh rendering', (name) => {
    expect(written(name)).toBe(rendered[name]);
  });

  it('render identically twice, with sorted keys', () => {
    expect(renderContractJsonSchemas()).toEqual(rendered);
    const keys = Object.keys(JSON.parse(rendered['job.json']));
    expect(keys).toEqual([...keys].sort());
  });

  it('state the paper preset value of each option as its default', () => {
    const options = JSON.parse(rendered['edit-request.json']).properties.options.properties;
    expect([options.preset.default, options.steps.default, options.intensify_lr.default]).toEqual([
      'paper',
      25,
      1200,
    ]);
    expect(options.kv_single_blocks.default).toEqual([6, 9, 18, 23, 26, 31, 37]);
  });

  it.each(SCHEMA_FILE_NAMES)('%s is a valid draft 2020-12 schema', (name) => {
    const schema = JSON.parse(rendered[name]);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(ajv.validateSchema(schema)).toBe(true);
  });
});

const square = [
  [10, 10],
  [110, 10],
  [110, 110],
];
const relocate = { kind: 'relocate', source: { polygons: [square] }, target: [300, 200] };

/** Documents whose verdict the JSON Schema can express; zod must agree with it. */
const samples: [name: string, document: unknown, valid: boolean][] = [
  ['relocate by polygon', { image: { upload: 'u1' }, operations: [relocate] }, true],
  [
    'rotate with anchor',
    {
      image: { url: 'https://a.example/x.png' },
      operations: [{ ...relocate, kind: 'rotate', anchor: [1, 2] }],
    },
    true,
  ],
  [
    'drags with inline mask',
    {
      image: { data: dataUri('image/png', pngHeader(4, 4)) },
      drags: [{ handle: [1, 1], target: [2, 2] }],
      editable_mask: { upload: 'm' },
    },
    true,
  ],
  ['options typo', { image: { upload: 'u1' }, operations: [relocate], options: { seeed: 1 } }, false],
  [
    'rotate without anchor',
    { image: { upload: 'u1' }, operations: [{ ...relocate, kind: 'rotate' }] },
    false,
  ],
  ['relocate with anchor', { image: { upload: 'u1' }, operations: [{ ...relocate, anchor: [1, 1] }] }, false],
  [
    'two image sources',
    { image: { upload: 'u1', url: 'https://a.example/x.png' }, operations: [relocate] },
    false,
  ],
  ['no image source', { image: {}, operations: [relocate] }, false],
  [
    'operations and drags',
    { image: { upload: 'u1' }, operations: [relocate], drags: [{ handle: [1, 1], target: [2, 2] }] },
    false,
  ],
  ['http image URL', { image: { url: 'http://a.example/x.png' }, operations: [relocate] }, false],
  ['gif content type', { image: { upload: 'u', content_type: 'image/gif' }, operations: [relocate] }, false],
  ['nine operations', { image: { upload: 'u1' }, operations: new Array(9).fill(relocate) }, false],
  [
    'two-point polygon',
    {
      image: { upload: 'u1' },
      operations: [
        {
          ...relocate,
          source: {
            polygons: [
              [
                [0, 0],
                [1, 1],
              ],
            ],
          },
        },
      ],
    },
    false,
  ],
  [
    'editable mask with operations',
    { image: { upload: 'u1' }, operations: [relocate], editable_mask: { upload: 'm' } },
    false,
  ],
  [
    'events filter without webhook',
    { image: { upload: 'u1' }, operations: [relocate], webhook_events_filter: ['start'] },
    false,
  ],
  [
    'editable mask with operations',
    { image: { upload: 'u1' }, operations: [relocate], editable_mask: { upload: 'm' } },
    false,
  ],
  [
    'events filter without webhook',
    { image: { upload: 'u1' }, operations: [relocate], webhook_events_filter: ['start'] },
    false,
  ],
  [
    'upper-case media type',
    { image: { upload: 'u1', content_type: 'IMAGE/PNG' }, operations: [relocate] },
    false,
  ],
  ['steps out of range', { image: { upload: 'u1' }, operations: [relocate], options: { steps: 0 } }, false],
];

describe('edit-request.json agrees with parseEditRequest', () => {
  it.each(samples)('%s', (_name, document, valid) => {
    expect(validators['edit-request.json'](document)).toBe(valid);
    expect(parseEditRequest(document).ok).toBe(valid);
  });
});

describe('job, webhook and error documents', () => {
  const job = {
    id: 'job_1',
    status: 'succeeded',
    progress: { phase: 'encoding', step: 1, total: 1, loss: null },
    output: { image: 'https://cdn.example/out.png', previews: [] },
    error: null,
    metrics: { predict_time: 158.7 },
    metadata: {},
    created_at: '2026-11-27T09:50:00Z',
    started_at: '2026-11-27T09:50:01Z',
    completed_at: '2026-11-27T09:52:40Z',
  };
  const failure = {
    code: 'coordinate_outside_image',
    message: 'operations[0].target: outside',
    details: {
      errors: [
        {
          code: 'coordinate_outside_image',
          path: ['operations', 0, 'target'],
          message: 'operations[0].target: outside',
        },
      ],
    },
  };

  it('accept well-formed documents', () => {
    expect(validators['job.json'](job)).toBe(true);
    expect(
      validators['webhook-payload.json']({ type: 'completed', timestamp: '2026-11-27T09:52:40Z', data: job }),
    ).toBe(true);
    expect(validators['error.json'](failure)).toBe(true);
  });

  it('reject unknown statuses, events and codes', () => {
    expect(validators['job.json']({ ...job, status: 'done' })).toBe(false);
    expect(
      validators['webhook-payload.json']({ type: 'finished', timestamp: '2026-11-27T09:52:40Z', data: job }),
    ).toBe(false);
    expect(validators['error.json']({ ...failure, code: 'oops' })).toBe(false);
  });
});
