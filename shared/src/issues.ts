/**
 * The one place where schema-library issues become contract errors.
 *
 * Checks that need a specific code push a `custom` issue carrying `params.code` (see `report`);
 * zod's own issues (types, enums, strict-object keys, ranges) map to the generic codes below.
 */
import type { z } from 'zod';
import { type ContractError, contractError, ERROR_CODES, type ErrorCode, type Path } from './errors.ts';

/** The part of a zod check context (`schema.check(ctx => ...)`) that the checks here use. */
export interface CheckContext<T> {
  readonly value: T;
  readonly issues: unknown[];
}

/** Records a problem with a contract-specific code at `path` (relative to the checked value). */
export function report(ctx: CheckContext<unknown>, code: ErrorCode, path: Path, reason: string): void {
  const issue: z.core.$ZodRawIssue = {
    code: 'custom',
    input: ctx.value,
    path,
    message: reason,
    params: { code },
  };
  ctx.issues.push(issue);
}

/**
 * Wraps a check that relates several fields of an object so it runs only when the object
 * has no issue yet: comparing fields that are themselves invalid would only add noise.
 */
export function crossFieldCheck<T>(check: (ctx: CheckContext<T>) => void) {
  return (ctx: CheckContext<T>): void => {
    if (ctx.issues.length === 0) check(ctx);
  };
}

/** Reports every repeat of an earlier item of a list (JSON Schema's uniqueItems, with a path). */
export function reportDuplicates(ctx: CheckContext<readonly unknown[]>, what: string): void {
  const seen = new Set<unknown>();
  ctx.value.forEach((item, index) => {
    if (seen.has(item))
      report(ctx, 'invalid_value', [index], `${what} ${JSON.stringify(item)} is listed twice`);
    seen.add(item);
  });
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

function describeExpected(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function bound(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall, limit: number | bigint): string {
  const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
  const tooBig = issue.code === 'too_big';
  if (issue.exact) return `must have exactly ${limit}${unit}`;
  const relation = tooBig
    ? issue.inclusive
      ? 'at most'
      : 'less than'
    : issue.inclusive
      ? 'at least'
      : 'more than';
  return `must be ${relation} ${limit}${unit}`;
}

function fromZodIssue(issue: z.core.$ZodIssue): ContractError[] {
  const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
  switch (issue.code) {
    case 'custom': {
      const code = issue.params?.code;
      return [contractError(isErrorCode(code) ? code : 'invalid_value', path, issue.message)];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) =>
        contractError('unknown_field', [...path, key], 'is not a field of the contract (check its spelling)'),
      );
    case 'invalid_type':
      // JSON has no undefined: an undefined input is an absent key (`validate` reports inputs).
      if (issue.input === undefined) return [contractError('required', path, 'is required')];
      // zod reports Infinity and NaN as a number of the wrong type.
      if (issue.expected === 'number' && typeof issue.input === 'number') {
        return [contractError('invalid_type', path, 'must be a finite number')];
      }
      return [contractError('invalid_type', path, `must be ${describeExpected(issue.expected)}`)];
    case 'invalid_value':
      return [
        contractError(
          'invalid_value',
          path,
          `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`,
        ),
      ];
    case 'too_big':
    case 'too_small': {
      const limit = issue.code === 'too_big' ? issue.maximum : issue.minimum;
      const isSize = issue.origin === 'string' || issue.origin === 'array';
      const code = !isSize ? 'out_of_range' : issue.code === 'too_big' ? 'too_long' : 'too_short';
      return [contractError(code, path, bound(issue, limit))];
    }
    case 'invalid_format':
      return [contractError('invalid_value', path, `is not a valid ${issue.format}`)];
    case 'not_multiple_of':
      return [contractError('invalid_value', path, `must be a multiple of ${issue.divisor}`)];
    case 'invalid_union':
      return [contractError('invalid_value', path, 'matches none of the allowed shapes')];
    case 'invalid_key':
    case 'invalid_element':
      return issue.issues.flatMap((inner) =>
        fromZodIssue({ ...inner, path: [...issue.path, ...inner.path] }),
      );
  }
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: ContractError[] };

/** Parses `input` with `schema`; failures come back as contract errors, in the order zod found them. */
export function validate<T>(schema: z.ZodType<T>, input: unknown): ValidationResult<T> {
  const result = schema.safeParse(input, { reportInput: true });
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, errors: result.error.issues.flatMap(fromZodIssue) };
}

/** Parses a request body; text that is not JSON fails with `invalid_json` at the root. */
export function parseJson(text: string): ValidationResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : String(error);
    return { ok: false, errors: [contractError('invalid_json', [], `is not valid JSON (${reason})`)] };
  }
}
