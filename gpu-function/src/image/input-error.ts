/**
 * A rejected edit input found while decoding images or building operations, carrying the
 * public contract's error (stable code, JSON path into the request, reason) so the service can
 * answer it exactly like a request validation error.
 */
import { type ContractError, contractError, type ErrorCode, type Path } from '@dragflow/shared/errors';

export class InputError extends Error {
  readonly error: ContractError;

  /** From a code, the path and the reason; or from an error the shared contract already built. */
  constructor(code: ErrorCode, path: Path, reason: string);
  constructor(error: ContractError);
  constructor(codeOrError: ErrorCode | ContractError, path: Path = [], reason = '') {
    const error = typeof codeOrError === 'string' ? contractError(codeOrError, path, reason) : codeOrError;
    super(error.message);
    this.name = 'InputError';
    this.error = error;
  }

  get code(): ErrorCode {
    return this.error.code;
  }
}
