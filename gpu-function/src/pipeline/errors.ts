/**
 * How an edit fails: rejected input (contract errors, the caller's to fix) or cancellation. Any other
 * exception is an internal failure.
 */
import { type ApiError, apiErrorFrom, type ContractError, contractError } from '@dragflow/shared/errors';
import { InputError } from '../image/input-error.ts';

export class EditRejected extends Error {
  readonly api: ApiError;

  constructor(readonly errors: ContractError[]) {
    const api = apiErrorFrom(errors);
    super(api.message);
    this.name = 'EditRejected';
    this.api = api;
  }

  get code(): ApiError['code'] {
    return this.api.code;
  }
}

export class EditCanceled extends Error {
  readonly code = 'canceled';

  constructor(readonly transformerCalls: number) {
    super(`the edit was canceled after ${transformerCalls} transformer calls`);
    this.name = 'EditCanceled';
  }
}

/** Input problems found while decoding become rejections; everything else passes through. */
export function asRejection(error: unknown): unknown {
  return error instanceof InputError ? new EditRejected([error.error]) : error;
}

export function rejection(
  code: ContractError['code'],
  path: ContractError['path'],
  reason: string,
): EditRejected {
  return new EditRejected([contractError(code, path, reason)]);
}
