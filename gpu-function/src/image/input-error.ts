/**
 * A rejected edit input found while decoding images or building operations, carrying the
 * public contract's error (stable code, JSON path into the request, reason) so the service can
 * answer it exactly like a request validation error.
 */
import { type ContractError, contractError, type ErrorCode, type Path } from '@dragflow/shared/errors';

export class InputError extends Error {
  readonly error: ContractError;

  constructor(code: ErrorCode, path: Path, reason: string) {
    const error = contractError(code, path, reason);
    super(error.message);
    this.name = 'InputError';
    this.error = error;
  }

  get code(): ErrorCode {
    return this.error.code;
  }
}
