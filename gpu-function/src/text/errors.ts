/** Stable, machine-readable codes for every failure raised by the text encoders and tokenizers. */
export type TextErrorCode =
  | 'invalid_config' // an encoder config breaks an invariant of the architecture
  | 'invalid_input_shape' // a graph asked for a batch or token count outside the limits
  | 'tokenizer_invalid' // a tokenizer file is missing, unreadable, or does not fit the encoder
  | 'prompt_invalid'; // a prompt is not a string or is longer than the limit

/** Error raised by `text/*`: `code` is stable for programs, the message names what, where and why. */
export class TextModelError extends Error {
  readonly code: TextErrorCode;

  constructor(code: TextErrorCode, message: string) {
    super(message);
    this.name = 'TextModelError';
    this.code = code;
  }
}
