/**
 * The error model: stable machine-readable codes, the HTTP status each maps to, and the
 * `ContractError` that names what is wrong, where (a JSON path into the request) and why.
 *
 * Codes are part of the public API: add new ones, never rename or reuse them.
 */
import { z } from 'zod';

interface CodeInfo {
  readonly http: number;
  readonly description: string;
}

/** Codes for a request that can be fixed by the caller (reported before any GPU work). */
const REQUEST_CODES = {
  unknown_field: { http: 422, description: 'A field the contract does not define (often a typo).' },
  invalid_type: { http: 422, description: 'A value of the wrong JSON type.' },
  invalid_value: { http: 422, description: 'A value outside the allowed set or format.' },
  out_of_range: { http: 422, description: 'A number below its minimum or above its maximum.' },
  too_long: { http: 422, description: 'A string or list longer than its limit.' },
  too_short: { http: 422, description: 'A string or list shorter than its minimum.' },
  required: { http: 422, description: 'A required field is missing.' },
  conflicting_fields: { http: 422, description: 'Fields that exclude each other were both given.' },
  field_not_allowed: { http: 422, description: 'A known field that this kind of request does not use.' },
  coordinate_outside_image: { http: 422, description: 'A point lies outside the image.' },
  empty_region: { http: 422, description: 'A source region (polygon or mask) covers no area.' },
  anchor_required: { http: 422, description: 'A rotate or scale operation without an anchor point.' },
  too_many_operations: { http: 422, description: 'More operations or drags than the configured maximum.' },
  polygon_too_few_points: { http: 422, description: 'A polygon with fewer than 3 vertices.' },
  polygon_too_many_points: { http: 422, description: 'A polygon with more vertices than the limit.' },
  polygon_self_intersecting: { http: 422, description: 'A polygon whose edges cross or touch.' },
  unsupported_media_type: { http: 415, description: 'An image type other than png, jpeg or webp.' },
  media_type_mismatch: { http: 422, description: 'Image bytes that do not match the declared type.' },
  invalid_url: { http: 422, description: 'A URL that is malformed or not https.' },
  image_too_large: { http: 413, description: 'An image over the byte, side or pixel limit.' },
  image_too_small: { http: 422, description: 'An image side below the minimum.' },
  mask_size_mismatch: { http: 422, description: 'A mask whose size differs from the image.' },
  metadata_too_large: { http: 413, description: 'Metadata over its serialised size limit.' },
  invalid_json: { http: 400, description: 'A request body that is not JSON.' },
  address_not_allowed: {
    http: 422,
    description: 'A URL whose host is or resolves to a private, loopback, link-local or reserved address.',
  },
  request_too_large: { http: 413, description: 'A request body over its byte limit.' },
} as const satisfies Record<string, CodeInfo>;

/** Codes a job can end with, or that the service answers outside request validation. */
const RUNTIME_CODES = {
  image_unreadable: { http: 422, description: 'The image could not be fetched or decoded.' },
  fetch_timeout: { http: 422, description: 'An image URL did not deliver its bytes within the time limit.' },
  canceled: { http: 409, description: 'The job was canceled.' },
  timeout: { http: 504, description: 'The job ran past its time limit.' },
  not_found: { http: 404, description: 'No job or upload with that id.' },
  invalid_transition: { http: 409, description: 'A job status change the lifecycle forbids.' },
  at_capacity: { http: 503, description: 'No worker is free; retry later.' },
  not_ready: {
    http: 503,
    description: 'The GPU function has not finished setup, failed it, or is shutting down.',
  },
  upload_failed: { http: 502, description: 'An output file could not be stored at the upload URL.' },
  over_budget: {
    http: 413,
    description:
      "The edit's estimated peak memory or time at its working size is over the service's budget; refused before any work.",
  },
  internal: { http: 500, description: 'An unexpected failure inside the service.' },
} as const satisfies Record<string, CodeInfo>;

/** Codes of the edge's public HTTP API around the contract: auth, billing, limits, callbacks. */
const API_CODES = {
  unauthorized: { http: 401, description: 'A missing, malformed, unknown or revoked API key or token.' },
  insufficient_credits: { http: 402, description: 'The balance cannot cover the price of the edit.' },
  rate_limited: { http: 429, description: 'Too many requests for this key; see Retry-After.' },
  idempotency_conflict: {
    http: 409,
    description: 'An Idempotency-Key reused with a different request body.',
  },
  invalid_header: { http: 400, description: 'A request header that is malformed or not allowed.' },
  method_not_allowed: { http: 405, description: 'An HTTP method the route does not accept.' },
  upload_incomplete: { http: 409, description: 'An upload whose bytes have not been received yet.' },
  callback_rejected: { http: 401, description: 'A GPU callback with a wrong secret or signature.' },
  callback_replayed: {
    http: 409,
    description: 'A GPU callback already processed, too old, or for a finished attempt.',
  },
} as const satisfies Record<string, CodeInfo>;

export const ERROR_CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  ...REQUEST_CODES,
  ...RUNTIME_CODES,
  ...API_CODES,
};

export type RequestErrorCode = keyof typeof REQUEST_CODES;
export type ErrorCode = RequestErrorCode | keyof typeof RUNTIME_CODES | keyof typeof API_CODES;

const codeNames = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
export const ErrorCodeSchema = z.enum(codeNames).meta({ description: 'Stable machine-readable error code.' });

export type Path = (string | number)[];

export const ContractErrorSchema = z
  .strictObject({
    code: ErrorCodeSchema,
    path: z.array(z.union([z.string(), z.number().int().min(0)])),
    message: z.string(),
  })
  .meta({
    title: 'ContractError',
    description: 'One problem in a request: what (code), where (JSON path), why (message).',
  });
export type ContractError = z.infer<typeof ContractErrorSchema>;

/** Error body of a failed job or an HTTP error response. */
export const ApiErrorSchema = z
  .strictObject({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.looseObject({ errors: z.array(ContractErrorSchema).optional() }).optional(),
  })
  .meta({ title: 'ApiError', description: 'The error of a failed job or of a rejected HTTP request.' });
export type ApiError = z.infer<typeof ApiErrorSchema>;

/** `['operations', 0, 'source']` -> `operations[0].source`; the root is `request`. */
export function formatPath(path: Path): string {
  if (path.length === 0) return 'request';
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('');
}

export function contractError(code: ErrorCode, path: Path, reason: string): ContractError {
  return { code, path, message: `${formatPath(path)}: ${reason}` };
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

/**
 * Codes only the local `dragflow` CLI reports, about files on the user's machine. They are never in
 * an API response (no HTTP status); a CLI failure with one of them exits 2 like any bad input.
 */
export const CLI_ERROR_CODES = {
  output_exists: 'An output file already exists and --force was not given.',
  output_is_input: 'An output path names one of the input files (or the same file twice).',
  output_unwritable:
    'An output path cannot be written (missing permission, a file where a folder must be, ...).',
  usage: 'Command-line flags that are unknown, malformed or missing.',
} as const;
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/** Wraps validation errors into the single error body an HTTP response or a failed job carries. */
export function apiErrorFrom(errors: ContractError[]): ApiError {
  const first = errors[0];
  if (!first) throw new Error('apiErrorFrom needs at least one error');
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return { code: first.code, message: `${first.message}${more}`, details: { errors } };
}
