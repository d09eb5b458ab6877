import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiErrorFrom, contractError, ERROR_CODES, formatPath, httpStatusOf } from '../src/errors.ts';
import { parseJson, validate } from '../src/issues.ts';

describe('error model', () => {
  it('uses stable snake_case codes, with the HTTP status of each class', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(Object.keys(ERROR_CODES)).toHaveLength(46);
    expect([
      httpStatusOf('unknown_field'),
      httpStatusOf('unsupported_media_type'),
      httpStatusOf('image_too_large'),
    ]).toEqual([422, 415, 413]);
    expect([httpStatusOf('not_found'), httpStatusOf('at_capacity'), httpStatusOf('internal')]).toEqual([
      404, 503, 500,
    ]);
    expect(httpStatusOf('over_budget')).toBe(413);
  });

  it('formats paths as a caller would write them', () => {
    expect(formatPath([])).toBe('request');
    expect(formatPath(['options', 'seed'])).toBe('options.seed');
    expect(formatPath(['operations', 3, 'source', 'polygons', 0, 12])).toBe(
      'operations[3].source.polygons[0][12]',
    );
  });

  it('wraps validation errors into one API error', () => {
    const errors = [
      contractError('required', ['image'], 'is required'),
      contractError('unknown_field', ['foo'], 'is not a field'),
    ];
    expect(apiErrorFrom(errors)).toEqual({
      code: 'required',
      message: 'image: is required (and 1 more)',
      details: { errors },
    });
    expect(() => apiErrorFrom([])).toThrow('apiErrorFrom needs at least one error');
  });
});

describe('zod issue mapping', () => {
  const schema = z.strictObject({
    count: z.number().int().min(1).max(3),
    ratio: z.number(),
    name: z.string().max(4),
    tags: z.array(z.string()).min(1),
  });

  it.each([
    [
      { count: 2.5, ratio: 1, name: 'a', tags: ['t'] },
      'invalid_type',
      ['count'],
      'count: must be an integer',
    ],
    [
      { count: 2, ratio: Number.POSITIVE_INFINITY, name: 'a', tags: ['t'] },
      'invalid_type',
      ['ratio'],
      'ratio: must be a finite number',
    ],
    [{ count: 2, ratio: 'x', name: 'a', tags: ['t'] }, 'invalid_type', ['ratio'], 'ratio: must be a number'],
    [{ count: 9, ratio: 1, name: 'a', tags: ['t'] }, 'out_of_range', ['count'], 'count: must be at most 3'],
    [
      { count: 2, ratio: 1, name: 'abcde', tags: ['t'] },
      'too_long',
      ['name'],
      'name: must be at most 4 characters',
    ],
    [{ count: 2, ratio: 1, name: 'a', tags: [] }, 'too_short', ['tags'], 'tags: must be at least 1 items'],
    [{ count: 2, ratio: 1, name: 'a' }, 'required', ['tags'], 'tags: is required'],
    [
      { count: 2, ratio: 1, name: 'a', tags: ['t'], colour: 1 },
      'unknown_field',
      ['colour'],
      'colour: is not a field of the contract (check its spelling)',
    ],
  ])('maps %j', (input, code, path, message) => {
    expect(validate(schema, input)).toEqual({ ok: false, errors: [{ code, path, message }] });
  });
});

describe('parseJson', () => {
  it('parses a body or names the syntax error', () => {
    expect(parseJson('{"a": [1, 2]}')).toEqual({ ok: true, value: { a: [1, 2] } });
    const result = parseJson('{"a": ');
    expect(result.ok ? [] : result.errors.map((error) => [error.code, error.path])).toEqual([
      ['invalid_json', []],
    ]);
    expect(result.ok ? '' : result.errors[0]?.message).toMatch(/^request: is not valid JSON \(.+\)$/);
  });
});
