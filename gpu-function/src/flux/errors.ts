/** Stable, machine-readable codes for every failure raised by the FLUX model definitions. */
export type FluxErrorCode =
  | 'invalid_config'
  | 'checkpoint_mismatch'
  | 'invalid_block_selection'
  | 'invalid_input_shape'
  | 'missing_parameter';

/** Error raised by `flux/*`: `code` is stable for programs, the message names what, where and why. */
export class FluxModelError extends Error {
  readonly code: FluxErrorCode;

  constructor(code: FluxErrorCode, message: string) {
    super(message);
    this.name = 'FluxModelError';
    this.code = code;
  }
}
