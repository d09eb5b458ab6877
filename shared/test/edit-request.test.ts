/**
 * The contract table: accept/reject cases for stage 1 (parseEditRequest) and stage 2
 * (checkAgainstImage). Each rejection lists the exact codes and paths, in order.
 */
import { describe, expect, it } from 'vitest';
import {
  checkAgainstImage,
  type EditRequest,
  emptyRegionError,
  maskSizeMismatchError,
  parseEditRequest,
  regionMaskPath,
} from '../src/edit-request.ts';
import type { Path } from '../src/errors.ts';
import type { Limits } from '../src/limits.ts';
import { dataUri, jpegHeader, pngHeader, webpLossyHeader } from './image-bytes.ts';

type Json = Record<string, unknown>;

const square = [
  [10, 10],
  [110, 10],
  [110, 110],
  [10, 110],
];
const pngData = dataUri('image/png', pngHeader(512, 512));

function base(): Json {
  return {
    image: { upload: 'upl_9f8e7d' },
    operations: [{ kind: 'relocate', source: { polygons: [square] }, target: [300, 200] }],
  };
}

/** A valid request changed by `edit` (which may mutate the fresh copy). */
function variant(edit: (request: Json & { operations: Json[] }) => void): Json {
  const request = base() as Json & { operations: Json[] };
  edit(request);
  return request;
}

function operation(fields: Json): Json {
  return { kind: 'relocate', source: { polygons: [square] }, target: [300, 200], ...fields };
}

function withOptions(options: Json): Json {
  return { ...base(), options };
}

type Expectation = 'accept' | [code: string, path: Path][];

interface Case {
  name: string;
  input: unknown;
  expect: Expectation;
  limits?: Partial<Limits>;
}

const cases: Case[] = [
  // --- accepted ---
  { name: 'minimal relocate with one polygon', input: base(), expect: 'accept' },
  {
    name: 'rotate with anchor',
    input: variant((r) => (r.operations = [operation({ kind: 'rotate', anchor: [60, 60] })])),
    expect: 'accept',
  },
  {
    name: 'scale with anchor',
    input: variant((r) => (r.operations = [operation({ kind: 'scale', anchor: [10, 10] })])),
    expect: 'accept',
  },
  {
    name: 'deform with an uploaded mask',
    input: variant(
      (r) => (r.operations = [operation({ kind: 'deform', source: { mask: { upload: 'mask_1' } } })]),
    ),
    expect: 'accept',
  },
  {
    name: 'mask as a png data URI',
    input: variant((r) => (r.operations = [operation({ source: { mask: { data: pngData } } })])),
    expect: 'accept',
  },
  {
    name: 'point drags with an editable mask',
    input: {
      image: { url: 'https://img.example/cat.jpg' },
      drags: [{ handle: [10, 20], target: [30.5, 40.25] }],
      editable_mask: { upload: 'm2' },
    },
    expect: 'accept',
  },
  {
    name: 'point drags without a mask',
    input: { image: { upload: 'u' }, drags: [{ handle: [0, 0], target: [2048, 2048] }] },
    expect: 'accept',
  },
  {
    name: 'image by https URL with declared type',
    input: { ...base(), image: { url: 'https://img.example/a.webp?sig=1', content_type: 'image/webp' } },
    expect: 'accept',
  },
  {
    name: 'image data URI with matching declared type',
    input: {
      ...base(),
      image: { data: dataUri('image/jpeg', jpegHeader(512, 512)), content_type: 'image/jpeg' },
    },
    expect: 'accept',
  },
  {
    name: 'every option set',
    input: withOptions({
      preset: 'reference_code',
      seed: 42,
      steps: 30,
      skip_steps: 8,
      transport_iterations: 40,
      intensify_iterations: 10,
      transport_lr: 900,
      intensify_lr: 1100,
      inversion_guidance: 1,
      edit_guidance: 4,
      adapter: false,
      adapter_scale: 0,
      feature_blocks: [16, 17, 18],
      kv_double_blocks: [],
      kv_single_blocks: [0, 37],
      background_latent: 'half_step',
      background_compositing: true,
      output_format: 'webp',
      output_quality: 80,
      preview_interval: 10,
    }),
    expect: 'accept',
  },
  {
    name: 'prompts, webhook, events filter and metadata',
    input: {
      ...base(),
      prompts: { background: 'a cat on a sofa', editing: 'the cat moves right' },
      webhook: 'https://hooks.example/dragflow',
      webhook_events_filter: ['start', 'completed'],
      metadata: { order: 7, tags: ['a'] },
    },
    expect: 'accept',
  },
  {
    name: 'explicitly closed polygon and a second polygon',
    input: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                [...square, [10, 10]],
                [
                  [200, 200],
                  [220, 200],
                  [210, 230],
                ],
              ],
            },
          }),
        ]),
    ),
    expect: 'accept',
  },
  {
    name: 'the maximum of 8 operations',
    input: variant((r) => (r.operations = new Array(8).fill(operation({})))),
    expect: 'accept',
  },
  {
    name: 'float coordinates',
    input: variant((r) => (r.operations = [operation({ target: [0.5, 511.75] })])),
    expect: 'accept',
  },

  // --- unknown fields (typos) ---
  {
    name: 'typo in an option name',
    input: withOptions({ seeed: 1 }),
    expect: [['unknown_field', ['options', 'seeed']]],
  },
  {
    name: 'typo in a top-level field',
    input: { ...base(), webhok: 'https://h.example' },
    expect: [['unknown_field', ['webhok']]],
  },
  {
    name: 'typo in an operation field',
    input: variant(
      (r) => (r.operations = [{ kind: 'relocate', source: { polygons: [square] }, taget: [1, 2] }]),
    ),
    expect: [
      ['required', ['operations', 0, 'target']],
      ['unknown_field', ['operations', 0, 'taget']],
    ],
  },
  {
    name: 'typo in a prompt field',
    input: { ...base(), prompts: { backgroud: 'x' } },
    expect: [['unknown_field', ['prompts', 'backgroud']]],
  },
  {
    name: 'unknown field on an image reference',
    input: { ...base(), image: { upload: 'u', width: 512 } },
    expect: [['unknown_field', ['image', 'width']]],
  },

  // --- shape and types ---
  { name: 'body that is not an object', input: [1, 2], expect: [['invalid_type', []]] },
  { name: 'missing image', input: { operations: base().operations }, expect: [['required', ['image']]] },
  {
    name: 'image reference naming no source',
    input: { ...base(), image: {} },
    expect: [['required', ['image']]],
  },
  {
    name: 'image reference naming two sources',
    input: { ...base(), image: { upload: 'u', url: 'https://x.example/a.png' } },
    expect: [['conflicting_fields', ['image', 'url']]],
  },
  {
    name: 'neither operations nor drags',
    input: { image: { upload: 'u' } },
    expect: [['required', ['operations']]],
  },
  {
    name: 'both operations and drags',
    input: { ...base(), drags: [{ handle: [1, 1], target: [2, 2] }] },
    expect: [['conflicting_fields', ['drags']]],
  },
  {
    name: 'editable mask with operations',
    input: { ...base(), editable_mask: { upload: 'm' } },
    expect: [['field_not_allowed', ['editable_mask']]],
  },
  {
    name: 'empty operations list',
    input: variant((r) => (r.operations = [])),
    expect: [['too_short', ['operations']]],
  },
  {
    name: 'unknown operation kind',
    input: variant((r) => (r.operations = [operation({ kind: 'move' })])),
    expect: [['invalid_value', ['operations', 0, 'kind']]],
  },
  {
    name: 'point with one coordinate',
    input: variant((r) => (r.operations = [operation({ target: [3] })])),
    expect: [['too_short', ['operations', 0, 'target']]],
  },
  {
    name: 'point with a string coordinate',
    input: variant((r) => (r.operations = [operation({ target: ['3', 4] })])),
    expect: [['invalid_type', ['operations', 0, 'target', 0]]],
  },
  {
    name: 'metadata that is a list',
    input: { ...base(), metadata: ['a'] },
    expect: [['invalid_type', ['metadata']]],
  },

  // --- operations ---
  {
    name: 'rotate without anchor',
    input: variant((r) => (r.operations = [operation({ kind: 'rotate' })])),
    expect: [['anchor_required', ['operations', 0, 'anchor']]],
  },
  {
    name: 'scale without anchor (second operation)',
    input: variant((r) => r.operations.push(operation({ kind: 'scale' }))),
    expect: [['anchor_required', ['operations', 1, 'anchor']]],
  },
  {
    name: 'relocate with an anchor',
    input: variant((r) => (r.operations = [operation({ anchor: [1, 1] })])),
    expect: [['field_not_allowed', ['operations', 0, 'anchor']]],
  },
  {
    name: 'more operations than the default maximum of 8',
    input: variant((r) => (r.operations = new Array(9).fill(operation({})))),
    expect: [['too_many_operations', ['operations']]],
  },
  {
    name: 'more operations than a configured maximum of 2',
    input: variant((r) => (r.operations = new Array(3).fill(operation({})))),
    limits: { maxOperations: 2 },
    expect: [['too_many_operations', ['operations']]],
  },
  {
    name: 'more drags than the maximum of 16',
    input: { image: { upload: 'u' }, drags: new Array(17).fill({ handle: [1, 1], target: [2, 2] }) },
    expect: [['too_many_operations', ['drags']]],
  },

  // --- regions ---
  {
    name: 'polygon with 2 points',
    input: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                square,
                [
                  [0, 0],
                  [5, 5],
                ],
              ],
            },
          }),
        ]),
    ),
    expect: [['polygon_too_few_points', ['operations', 0, 'source', 'polygons', 1]]],
  },
  {
    name: 'self-intersecting bow-tie polygon',
    input: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                [
                  [0, 0],
                  [100, 100],
                  [100, 0],
                  [0, 100],
                ],
              ],
            },
          }),
        ]),
    ),
    expect: [['polygon_self_intersecting', ['operations', 0, 'source', 'polygons', 0]]],
  },
  {
    name: 'polygon with collinear vertices (empty region)',
    input: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                [
                  [0, 0],
                  [50, 50],
                  [100, 100],
                ],
              ],
            },
          }),
        ]),
    ),
    expect: [['empty_region', ['operations', 0, 'source', 'polygons', 0]]],
  },
  {
    name: 'polygon of one repeated point (empty region)',
    input: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                [
                  [5, 5],
                  [5, 5],
                  [5, 5],
                  [5, 5],
                ],
              ],
            },
          }),
        ]),
    ),
    expect: [['empty_region', ['operations', 0, 'source', 'polygons', 0]]],
  },
  {
    name: 'polygon over the vertex limit',
    input: variant((r) => (r.operations = [operation({ source: { polygons: [[...square, [0, 50]]] } })])),
    limits: { maxPolygonVertices: 4 },
    expect: [['polygon_too_many_points', ['operations', 0, 'source', 'polygons', 0]]],
  },
  {
    name: 'empty polygon list',
    input: variant((r) => (r.operations = [operation({ source: { polygons: [] } })])),
    expect: [['too_short', ['operations', 0, 'source', 'polygons']]],
  },
  {
    name: 'source with neither mask nor polygons',
    input: variant((r) => (r.operations = [operation({ source: {} })])),
    expect: [['required', ['operations', 0, 'source']]],
  },
  {
    name: 'source with both mask and polygons',
    input: variant(
      (r) => (r.operations = [operation({ source: { mask: { upload: 'm' }, polygons: [square] } })]),
    ),
    expect: [['conflicting_fields', ['operations', 0, 'source', 'polygons']]],
  },

  // --- coordinates rejected before the image size is known ---
  {
    name: 'negative target',
    input: variant((r) => (r.operations = [operation({ target: [-1, 20] })])),
    expect: [['coordinate_outside_image', ['operations', 0, 'target']]],
  },
  {
    name: 'vertex beyond the largest allowed image side',
    input: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                [
                  [0, 0],
                  [10, 0],
                  [10, 2049],
                ],
              ],
            },
          }),
        ]),
    ),
    expect: [['coordinate_outside_image', ['operations', 0, 'source', 'polygons', 0, 2]]],
  },
  {
    name: 'negative drag handle',
    input: { image: { upload: 'u' }, drags: [{ handle: [4, -0.5], target: [2, 2] }] },
    expect: [['coordinate_outside_image', ['drags', 0, 'handle']]],
  },

  // --- images ---
  {
    name: 'plain http image URL',
    input: { ...base(), image: { url: 'http://img.example/a.png' } },
    expect: [['invalid_url', ['image', 'url']]],
  },
  {
    name: 'image URL that is not a URL',
    input: { ...base(), image: { url: 'img.example/a.png' } },
    expect: [['invalid_url', ['image', 'url']]],
  },
  {
    name: 'image URL with credentials',
    input: { ...base(), image: { url: 'https://user:pw@img.example/a.png' } },
    expect: [['invalid_url', ['image', 'url']]],
  },
  {
    name: 'declared content type image/gif',
    input: { ...base(), image: { upload: 'u', content_type: 'image/gif' } },
    expect: [['unsupported_media_type', ['image', 'content_type']]],
  },
  {
    name: 'data URI of type image/gif',
    input: { ...base(), image: { data: 'data:image/gif;base64,R0lGODlh' } },
    expect: [['unsupported_media_type', ['image', 'data']]],
  },
  {
    name: 'data URI declaring png holding a jpeg',
    input: {
      ...base(),
      image: { data: `data:image/png;base64,${dataUri('image/jpeg', jpegHeader(8, 8)).split(',')[1]}` },
    },
    expect: [['media_type_mismatch', ['image', 'data']]],
  },
  {
    name: 'declared type contradicting the data URI',
    input: { ...base(), image: { data: pngData, content_type: 'image/webp' } },
    expect: [['media_type_mismatch', ['image', 'content_type']]],
  },
  {
    name: 'data URI that is not base64',
    input: { ...base(), image: { data: 'data:image/png;base64,@@@@' } },
    expect: [['invalid_value', ['image', 'data']]],
  },
  {
    name: 'data URI over the byte limit',
    input: { ...base(), image: { data: dataUri('image/webp', webpLossyHeader(512, 512)) } },
    limits: { maxImageBytes: 16 },
    expect: [['image_too_large', ['image', 'data']]],
  },
  {
    name: 'upload id with a slash',
    input: { ...base(), image: { upload: '../etc/passwd' } },
    expect: [['invalid_value', ['image', 'upload']]],
  },
  {
    name: 'mask given by http URL',
    input: variant(
      (r) => (r.operations = [operation({ source: { mask: { url: 'http://m.example/m.png' } } })]),
    ),
    expect: [['invalid_url', ['operations', 0, 'source', 'mask', 'url']]],
  },

  // --- options ---
  { name: 'zero steps', input: withOptions({ steps: 0 }), expect: [['out_of_range', ['options', 'steps']]] },
  {
    name: 'skip_steps not below steps',
    input: withOptions({ steps: 10, skip_steps: 10 }),
    expect: [['out_of_range', ['options', 'skip_steps']]],
  },
  {
    name: 'skip_steps not below the preset steps',
    input: withOptions({ skip_steps: 25 }),
    expect: [['out_of_range', ['options', 'skip_steps']]],
  },
  {
    name: 'negative learning rate',
    input: withOptions({ transport_lr: -1 }),
    expect: [['out_of_range', ['options', 'transport_lr']]],
  },
  {
    name: 'too many intensify iterations',
    input: withOptions({ intensify_iterations: 501 }),
    expect: [['out_of_range', ['options', 'intensify_iterations']]],
  },
  {
    name: 'adapter scale above 4',
    input: withOptions({ adapter_scale: 4.5 }),
    expect: [['out_of_range', ['options', 'adapter_scale']]],
  },
  {
    name: 'fractional seed',
    input: withOptions({ seed: 1.5 }),
    expect: [['invalid_type', ['options', 'seed']]],
  },
  {
    name: 'unknown preset',
    input: withOptions({ preset: 'turbo' }),
    expect: [['invalid_value', ['options', 'preset']]],
  },
  {
    name: 'unsupported output format',
    input: withOptions({ output_format: 'gif' }),
    expect: [['invalid_value', ['options', 'output_format']]],
  },
  {
    name: 'feature block out of range',
    input: withOptions({ feature_blocks: [19] }),
    expect: [['out_of_range', ['options', 'feature_blocks', 0]]],
  },
  {
    name: 'feature block listed twice',
    input: withOptions({ feature_blocks: [17, 18, 17] }),
    expect: [['invalid_value', ['options', 'feature_blocks', 2]]],
  },
  {
    name: 'no feature blocks',
    input: withOptions({ feature_blocks: [] }),
    expect: [['too_short', ['options', 'feature_blocks']]],
  },
  {
    name: 'output quality for png output',
    input: withOptions({ output_quality: 90 }),
    expect: [['field_not_allowed', ['options', 'output_quality']]],
  },
  {
    name: 'adapter given as a string',
    input: withOptions({ adapter: 'yes' }),
    expect: [['invalid_type', ['options', 'adapter']]],
  },

  // --- prompts, webhook, metadata ---
  {
    name: 'background prompt over 2000 characters',
    input: { ...base(), prompts: { background: 'a'.repeat(2001) } },
    expect: [['too_long', ['prompts', 'background']]],
  },
  {
    name: 'events filter without a webhook',
    input: { ...base(), webhook_events_filter: ['completed'] },
    expect: [['field_not_allowed', ['webhook_events_filter']]],
  },
  {
    name: 'upper-case media type in a data URI',
    input: { ...base(), image: { data: pngData.replace('image/png', 'IMAGE/PNG') } },
    expect: [['unsupported_media_type', ['image', 'data']]],
  },
  {
    name: 'plain http webhook',
    input: { ...base(), webhook: 'http://hooks.example/x' },
    expect: [['invalid_url', ['webhook']]],
  },
  {
    name: 'unknown webhook event',
    input: { ...base(), webhook: 'https://h.example/x', webhook_events_filter: ['start', 'finished'] },
    expect: [['invalid_value', ['webhook_events_filter', 1]]],
  },
  {
    name: 'webhook event listed twice',
    input: { ...base(), webhook: 'https://h.example/x', webhook_events_filter: ['output', 'output'] },
    expect: [['invalid_value', ['webhook_events_filter', 1]]],
  },
  {
    name: 'metadata over 4096 bytes',
    input: { ...base(), metadata: { note: 'é'.repeat(2050) } },
    expect: [['metadata_too_large', ['metadata']]],
  },
];

function outcome(result: ReturnType<typeof parseEditRequest>): Expectation {
  return result.ok ? 'accept' : result.errors.map((error) => [error.code, error.path]);
}

describe('parseEditRequest (stage 1)', () => {
  it('has a table of at least 40 cases with rejections of every contract code', () => {
    const rejects = cases.filter((c) => c.expect !== 'accept');
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const codes = new Set(
      rejects.flatMap((c) => (c.expect === 'accept' ? [] : c.expect.map(([code]) => code))),
    );
    for (const code of [
      'unknown_field',
      'coordinate_outside_image',
      'empty_region',
      'anchor_required',
      'too_many_operations',
      'polygon_too_few_points',
      'polygon_self_intersecting',
      'out_of_range',
      'unsupported_media_type',
    ]) {
      expect(codes.has(code), code).toBe(true);
    }
  });

  it.each(cases)('$name', ({ input, expect: expected, limits }) => {
    expect(outcome(parseEditRequest(input, limits))).toEqual(expected);
  });

  it('says what, where and why in each message', () => {
    const result = parseEditRequest(withOptions({ seeed: 1, steps: 200 }));
    expect(result.ok ? [] : result.errors).toEqual([
      { code: 'out_of_range', path: ['options', 'steps'], message: 'options.steps: must be at most 100' },
      {
        code: 'unknown_field',
        path: ['options', 'seeed'],
        message: 'options.seeed: is not a field of the contract (check its spelling)',
      },
    ]);
    const rotate = parseEditRequest(variant((r) => (r.operations = [operation({ kind: 'rotate' })])));
    expect(rotate.ok ? '' : rotate.errors[0]?.message).toBe(
      'operations[0].anchor: is required for a rotate operation (the pivot point)',
    );
  });

  it('returns the parsed request on success', () => {
    const result = parseEditRequest(base());
    expect(result).toEqual({ ok: true, value: base() });
  });
});

interface ImageCase {
  name: string;
  request: Json;
  size: { width: number; height: number };
  expect: Expectation;
}

function parsed(input: Json): EditRequest {
  const result = parseEditRequest(input);
  if (!result.ok) throw new Error(`fixture rejected: ${JSON.stringify(result.errors)}`);
  return result.value;
}

const image512 = { width: 512, height: 512 };
const imageCases: ImageCase[] = [
  { name: 'everything inside a 512x512 image', request: base(), size: image512, expect: 'accept' },
  {
    name: 'point on the far edge of the image',
    request: variant((r) => (r.operations = [operation({ target: [512, 512] })])),
    size: image512,
    expect: 'accept',
  },
  {
    name: 'target right of the image',
    request: base(),
    size: { width: 256, height: 512 },
    expect: [['coordinate_outside_image', ['operations', 0, 'target']]],
  },
  {
    name: 'vertex below the image',
    request: variant(
      (r) =>
        (r.operations = [
          operation({
            source: {
              polygons: [
                [
                  [0, 0],
                  [10, 0],
                  [10, 300],
                ],
              ],
            },
          }),
        ]),
    ),
    size: { width: 512, height: 256 },
    expect: [['coordinate_outside_image', ['operations', 0, 'source', 'polygons', 0, 2]]],
  },
  {
    name: 'anchor outside the image',
    request: variant((r) => (r.operations = [operation({ kind: 'rotate', anchor: [600, 5] })])),
    size: image512,
    expect: [['coordinate_outside_image', ['operations', 0, 'anchor']]],
  },
  {
    name: 'drag target outside the image',
    request: { image: { upload: 'u' }, drags: [{ handle: [1, 1], target: [2, 1000] }] },
    size: image512,
    expect: [['coordinate_outside_image', ['drags', 0, 'target']]],
  },
  {
    name: 'image below the minimum side',
    request: { image: { upload: 'u' }, drags: [{ handle: [1, 1], target: [2, 2] }] },
    size: { width: 32, height: 512 },
    expect: [['image_too_small', ['image']]],
  },
  {
    name: 'image over the maximum side',
    request: base(),
    size: { width: 4096, height: 512 },
    expect: [['image_too_large', ['image']]],
  },
  {
    name: 'image over the pixel limit',
    request: base(),
    size: { width: 2048, height: 2048 },
    expect: [['image_too_large', ['image']]],
  },
  {
    name: 'inline mask of another size',
    request: variant(
      (r) =>
        (r.operations = [
          operation({ source: { mask: { data: dataUri('image/png', pngHeader(100, 80)) } } }),
        ]),
    ),
    size: image512,
    expect: [['mask_size_mismatch', ['operations', 0, 'source', 'mask']]],
  },
  {
    name: 'inline editable mask of another size',
    request: {
      image: { upload: 'u' },
      drags: [{ handle: [1, 1], target: [2, 2] }],
      editable_mask: { data: dataUri('image/jpeg', jpegHeader(512, 511)) },
    },
    size: image512,
    expect: [['mask_size_mismatch', ['editable_mask']]],
  },
  {
    name: 'inline mask of the image size',
    request: variant((r) => (r.operations = [operation({ source: { mask: { data: pngData } } })])),
    size: image512,
    expect: 'accept',
  },
];

describe('checkAgainstImage (stage 2)', () => {
  it.each(imageCases)('$name', ({ request, size, expect: expected }) => {
    expect(outcome(checkAgainstImage(parsed(request), size))).toEqual(expected);
  });

  it('names the image size in the message', () => {
    const result = checkAgainstImage(parsed(base()), { width: 256, height: 512 });
    expect(result.ok ? '' : result.errors[0]?.message).toBe(
      'operations[0].target: point (300, 200) lies outside the 256x512 image (x in [0, 256], y in [0, 512])',
    );
  });
});

describe('errors raised after decoding', () => {
  it('use the same code and path as the parser', () => {
    expect(emptyRegionError(regionMaskPath(2))).toEqual({
      code: 'empty_region',
      path: ['operations', 2, 'source', 'mask'],
      message: 'operations[2].source.mask: selects no pixels; the region to move is empty',
    });
    expect(maskSizeMismatchError(['editable_mask'], { width: 10, height: 20 }, image512)).toEqual({
      code: 'mask_size_mismatch',
      path: ['editable_mask'],
      message: 'editable_mask: is 10x20 but the image is 512x512; they must match',
    });
  });
});

describe('URL policy (local-development switch of the servers)', () => {
  const loopback = { allowLoopbackHttp: true };
  const withUrls = (image: string, webhook: string): Json => ({ ...base(), image: { url: image }, webhook });

  it('refuses plain http by default, even to loopback', () => {
    expect(
      outcome(parseEditRequest(withUrls('http://127.0.0.1:9000/a.png', 'http://localhost:8787/h'))),
    ).toEqual([
      ['invalid_url', ['image', 'url']],
      ['invalid_url', ['webhook']],
    ]);
  });

  it('admits http to loopback hosts only when the switch is on', () => {
    for (const host of ['127.0.0.1:9000', 'localhost:8787', '[::1]:5000', '127.3.2.1']) {
      expect(parseEditRequest(withUrls(`http://${host}/a.png`, `http://${host}/h`), {}, loopback).ok).toBe(
        true,
      );
    }
    expect(
      outcome(parseEditRequest(withUrls('http://10.0.0.1/a.png', 'http://example.com/h'), {}, loopback)),
    ).toEqual([
      ['invalid_url', ['image', 'url']],
      ['invalid_url', ['webhook']],
    ]);
  });
});
