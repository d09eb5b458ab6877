/**
 * The playground's DOM-free logic, run in Node: event-stream parsing, the outline transforms
 * against the contract's definitions, mask statistics, request and snippets, error placement,
 * the form read from the contract's JSON Schema, and the progress percentage.
 */
import { execFileSync } from 'node:child_process';
import {
  contractJsonSchema,
  OPERATION_KINDS,
  OPTION_RANGES,
  PRESET_NAMES,
  PROGRESS_PHASES,
} from '@dragflow/shared';
import { describe, expect, it } from 'vitest';
import { closestKey, placeErrors } from '../public/js/errors.js';
import {
  applyAffine,
  describeMotion,
  operationTransform,
  rotationDegrees,
  scaleFactor,
  wrapDegrees,
} from '../public/js/geometry.js';
import { binaryFromAlpha, maskPixels, maskStats, rimOf } from '../public/js/mask.js';
import { overallPercent } from '../public/js/progress.js';
import { buildEditRequest, curlSnippet, javascriptSnippet } from '../public/js/request.js';
import { formSchema, MAIN_OPTIONS, QUICK_OPTIONS } from '../public/js/schema.js';
import { SseParser } from '../public/js/sse.js';

type Point = [number, number];

describe('event stream parser', () => {
  const stream =
    'retry: 2000\n\nid: 1\nevent: status\ndata: {"a":1}\n\n: comment\nid: 2\nevent: progress\ndata: {"b":\ndata: 2}\n\n';

  it('yields the same events however the text is cut into chunks', () => {
    const whole = new SseParser().feed(stream);
    expect(whole).toEqual([
      { id: '1', event: 'status', data: '{"a":1}' },
      { id: '2', event: 'progress', data: '{"b":\n2}' },
    ]);
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))];
      expect(events).toEqual(whole);
      expect(parser.lastEventId).toBe('2');
    }
  });

  it('treats CRLF split across chunks as one line break', () => {
    const parser = new SseParser();
    const events = [...parser.feed('data: x\r'), ...parser.feed('\ndata: y\r\n'), ...parser.feed('\r\n')];
    expect(events).toEqual([{ id: '', event: 'message', data: 'x\ny' }]);
  });
});

describe('outline transforms', () => {
  const centroid: Point = [100.5, 60.5];

  it('relocate translates the rounded centroid onto the target', () => {
    const m = operationTransform('relocate', [100.3, 60.9], [150, 40], undefined)!;
    expect(applyAffine(m, [100.5, 60.5])).toEqual([150, 40]);
    expect(describeMotion('relocate', [100.3, 60.9], [150, 40], undefined)).toBe('moves +50, -20 px');
    expect(describeMotion('deform', centroid, [90.5, 70.5], undefined)).toBe('bends -10, +10 px');
  });

  it('rotate turns the centroid onto the target direction about the anchor', () => {
    const anchor: Point = [60.5, 60.5];
    const target: Point = [60.5, 100.5]; // straight below the anchor: +90 degrees with y down
    expect(rotationDegrees(centroid, target, anchor)).toBeCloseTo(90, 10);
    const m = operationTransform('rotate', centroid, target, anchor)!;
    const moved = applyAffine(m, centroid);
    expect(moved[0]).toBeCloseTo(60.5, 10);
    expect(moved[1]).toBeCloseTo(100.5, 10);
    const pivot = applyAffine(m, anchor);
    expect(pivot[0]).toBeCloseTo(anchor[0], 10);
    expect(pivot[1]).toBeCloseTo(anchor[1], 10);
    expect(describeMotion('rotate', centroid, target, anchor)).toBe('turns 90.0°');
    expect(wrapDegrees(190)).toBe(-170);
    expect(wrapDegrees(-180)).toBe(-180);
  });

  it('scale grows about the anchor by |target - anchor| / |centroid - anchor|', () => {
    const anchor: Point = [0.5, 60.5];
    const target: Point = [150.5, 60.5];
    expect(scaleFactor(centroid, target, anchor)).toBe(1.5);
    const m = operationTransform('scale', centroid, target, anchor)!;
    expect(applyAffine(m, centroid)).toEqual([150.5, 60.5]);
    expect(applyAffine(m, anchor)).toEqual(anchor);
    expect(describeMotion('scale', centroid, target, anchor)).toBe('scales ×1.50');
  });

  it('has no transform for an anchored kind without a usable anchor', () => {
    expect(operationTransform('rotate', centroid, [1, 1], undefined)).toBeUndefined();
    expect(operationTransform('scale', centroid, [1, 1], [100.7, 60.2])).toBeUndefined();
  });
});

describe('masks', () => {
  // A 6x4 canvas with a 3x2 block at columns 1-3, rows 1-2 painted opaque, one pixel half-painted.
  const width = 6;
  const height = 4;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (const [x, y] of [
    [1, 1],
    [2, 1],
    [3, 1],
    [1, 2],
    [2, 2],
    [3, 2],
  ]) {
    rgba[(y * width + x) * 4 + 3] = 255;
  }
  rgba[(0 * width + 5) * 4 + 3] = 127; // below the threshold: not in the region

  it('reads the region with the contract threshold and measures it', () => {
    const binary = binaryFromAlpha(rgba);
    expect([...binary].reduce((a, b) => a + b, 0)).toBe(6);
    const stats = maskStats(binary, width);
    expect(stats.area).toBe(6);
    expect(stats.centroid).toEqual([2.5, 2]);
    expect(stats.box).toEqual({ left: 1, top: 1, right: 4, bottom: 3 });
    expect(maskStats(new Uint8Array(24), width)).toEqual({ area: 0, centroid: undefined, box: undefined });
  });

  it('finds the rim: every pixel of a 2-row block touches the outside', () => {
    const binary = binaryFromAlpha(rgba);
    expect([...rimOf(binary, width, height, 1)]).toEqual([...binary]);
    const block = new Uint8Array(25).fill(1);
    const rim = rimOf(block, 5, 5, 1);
    expect(rim[12]).toBe(0); // the centre of a 5x5 block
    expect([...rim].reduce((a, b) => a + b, 0)).toBe(16);
    expect([...rimOf(block, 5, 5, 2)].reduce((a, b) => a + b, 0)).toBe(24);
  });

  it('exports white on opaque black', () => {
    const pixels = maskPixels(Uint8Array.from([1, 0]));
    expect([...pixels]).toEqual([255, 255, 255, 255, 0, 0, 0, 255]);
  });
});

describe('request and snippets', () => {
  const request = buildEditRequest({
    imageUpload: 'up_image',
    operations: [
      { kind: 'relocate', maskUpload: 'up_mask1', target: [120.123, 80] },
      { kind: 'rotate', maskUpload: 'up_mask2', target: [10, 20.555], anchor: [30, 40] },
    ],
    prompts: { editing: '  a cup moves ', background: '' },
    options: { steps: 4 },
  });

  it('builds the contract request from uploads, targets, prompts and options', () => {
    expect(request).toEqual({
      image: { upload: 'up_image' },
      operations: [
        { kind: 'relocate', source: { mask: { upload: 'up_mask1' } }, target: [120.12, 80] },
        { kind: 'rotate', source: { mask: { upload: 'up_mask2' } }, target: [10, 20.56], anchor: [30, 40] },
      ],
      prompts: { editing: 'a cup moves' },
      options: { steps: 4 },
    });
  });

  it('gives a curl command a shell runs to the same body, reading the key from the environment', () => {
    const curl = curlSnippet('http://host:1/v1', { ...request, prompts: { editing: "the cup's handle" } });
    expect(curl).toContain('"Authorization: Bearer $DRAGFLOW_API_KEY"');
    // The shell (printf for curl) gets the exact JSON back, quote included.
    const body = execFileSync('bash', ['-c', `printf '%s' ${curl.split('-d ')[1]}`], { encoding: 'utf8' });
    expect(JSON.parse(body)).toEqual({ ...request, prompts: { editing: "the cup's handle" } });
  });

  it('gives a JavaScript snippet with the same body', () => {
    const js = javascriptSnippet('http://host:1/v1', request);
    const literal = js.slice(js.indexOf('JSON.stringify(') + 15, js.lastIndexOf('),'));
    expect(JSON.parse(literal)).toEqual(request);
    expect(js).toContain("'Bearer ' + process.env.DRAGFLOW_API_KEY");
  });
});

describe('errors next to controls', () => {
  const keys = [
    'request',
    'authorization',
    'image',
    'operations',
    'operations.0',
    'operations.0.target',
    'options.steps',
  ];

  it('picks the control with the longest path that contains the error', () => {
    expect(closestKey('operations.0.target', keys)).toBe('operations.0.target');
    expect(closestKey('operations.0.source.mask', keys)).toBe('operations.0');
    expect(closestKey('operations.3', keys)).toBe('operations');
    expect(closestKey('options.steps', keys)).toBe('options.steps');
    expect(closestKey('options.stepsize', keys)).toBe('request');
  });

  it('places every listed error, and path-less ones by their code', () => {
    const placed = placeErrors(
      {
        code: 'out_of_range',
        message: 'x',
        details: {
          errors: [
            { code: 'out_of_range', path: ['options', 'steps'], message: 'options.steps: too big' },
            { code: 'coordinate_outside_image', path: ['operations', 0, 'target'], message: 'outside' },
          ],
        },
      },
      keys,
    );
    expect(placed).toEqual([
      { key: 'options.steps', code: 'out_of_range', message: 'options.steps: too big' },
      { key: 'operations.0.target', code: 'coordinate_outside_image', message: 'outside' },
    ]);
    expect(placeErrors({ code: 'unauthorized', message: 'bad key' }, keys)).toEqual([
      { key: 'authorization', code: 'unauthorized', message: 'bad key' },
    ]);
    expect(placeErrors({ code: 'insufficient_credits', message: 'costs 10' }, keys)[0]!.key).toBe('request');
  });
});

describe('form from the contract', () => {
  const openapi = {
    components: {
      schemas: {
        EditRequest: contractJsonSchema('edit-request.json'),
        Edit: contractJsonSchema('job.json'),
      },
    },
  };
  const form = formSchema(openapi);

  it('offers the contract kinds, presets, phases and limits', () => {
    expect(form.kinds).toEqual([...OPERATION_KINDS]);
    expect(form.presets).toEqual([...PRESET_NAMES]);
    expect(form.defaultPreset).toBe('paper');
    expect(form.phases).toEqual([...PROGRESS_PHASES]);
    expect(form.maxOperations).toBe(8);
    expect(form.maxPromptLength).toBe(2000);
  });

  it('shows the main options with the contract ranges and the preset defaults', () => {
    expect(form.options.map((option) => option.name)).toEqual(MAIN_OPTIONS);
    const steps = form.options.find((option) => option.name === 'steps')!;
    expect(steps).toMatchObject({
      type: 'integer',
      minimum: OPTION_RANGES.steps.min,
      maximum: OPTION_RANGES.steps.max,
      defaultValue: 25,
    });
    expect(form.options.find((option) => option.name === 'output_format')).toMatchObject({
      type: 'enum',
      choices: ['png', 'webp', 'jpeg'],
    });
    for (const [name, value] of Object.entries(QUICK_OPTIONS)) {
      const option = form.options.find((candidate) => candidate.name === name)!;
      expect(value).toBeGreaterThanOrEqual(option.minimum!);
      expect(value).toBeLessThanOrEqual(option.maximum!);
    }
  });
});

describe('overall progress', () => {
  const phases = [...PROGRESS_PHASES];

  it('counts phases as equal shares and reaches 100 only on success', () => {
    expect(overallPercent(phases, null, 'queued')).toBe(0);
    expect(overallPercent(phases, { phase: 'transport', step: 3, total: 6, loss: 0.2 }, 'processing')).toBe(
      35,
    );
    expect(overallPercent(phases, { phase: 'encoding', step: 1, total: 1, loss: null }, 'processing')).toBe(
      99,
    );
    expect(overallPercent(phases, { phase: 'decoding', step: 0, total: 1, loss: null }, 'succeeded')).toBe(
      100,
    );
  });
});
