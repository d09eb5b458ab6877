/**
 * Dispatch: how an edit reaches a GPU function. One interface, two implementations chosen by
 * the DISPATCH setting: `cog` (HTTP to a Cog-compatible server, cog.ts) and `replicate` (the
 * replicate client, replicate.ts). The edge gives each attempt a callback URL carrying a
 * per-attempt secret; the GPU function's input holds signed GET URLs, never storage keys.
 */
export interface DispatchJob {
  readonly editId: string;
  /** 1 for the first dispatch, 2 for the one re-dispatch after a time-out. */
  readonly attempt: number;
  /** The edit request as the GPU function reads it (images as signed URLs). */
  readonly input: unknown;
  /** Where the GPU function posts its prediction updates for this attempt. */
  readonly callbackUrl: string;
}

export interface Dispatcher {
  readonly name: 'cog' | 'replicate';
  /** Starts the prediction; resolves with its id. Throws DispatchError. */
  start(job: DispatchJob): Promise<{ readonly predictionId: string }>;
  /** Asks the GPU function to stop a prediction (best effort; an unknown id is not an error). */
  cancel(predictionId: string): Promise<void>;
}

/** A failed dispatch; `retryable` failures (busy, unreachable, 5xx) are tried again later. */
export class DispatchError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The per-attempt prediction id: the same for every retry of one attempt, so creation is idempotent. */
export function predictionIdOf(editId: string, attempt: number): string {
  return `${editId}-a${attempt}`;
}

/** HTTP statuses worth trying again: rate limits, capacity, not ready, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
