/**
 * Stable machine-readable codes for rejected edit inputs (image, masks, operations).
 * The message says what was wrong, where, and why; the code never changes once published.
 */
export type InputErrorCode =
  | 'image_unreadable'
  | 'image_too_large'
  | 'image_too_small'
  | 'mask_unreadable'
  | 'mask_size_mismatch'
  | 'mask_empty'
  | 'polygon_invalid'
  | 'point_outside_image'
  | 'point_outside_mask'
  | 'operation_invalid';

export class InputError extends Error {
  readonly code: InputErrorCode;

  constructor(code: InputErrorCode, message: string) {
    super(message);
    this.name = 'InputError';
    this.code = code;
  }
}
