/**
 * Errors of the public API: one exception type carrying a shared error code, turned into the
 * shared ApiError body with the code's HTTP status. Unexpected exceptions become `internal`
 * without their message (it may hold secrets or internals); the request id ties them to logs.
 */
import {
  type ApiError,
  apiErrorFrom,
  type ContractError,
  type ErrorCode,
  httpStatusOf,
} from '@dragflow/shared';

export class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ApiError['details'],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = httpStatusOf(code);
  }

  static fromContract(errors: ContractError[]): HttpError {
    const body = apiErrorFrom(errors);
    return new HttpError(body.code, body.message, body.details);
  }

  body(): ApiError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function errorResponse(error: HttpError, requestId: string): Response {
  return Response.json(error.body(), {
    status: error.status,
    headers: { ...error.headers, 'x-request-id': requestId },
  });
}
