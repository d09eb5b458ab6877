/**
 * Dispatch to a Cog-compatible server (`npx dragflow serve`, Cog's coglet): the idempotent
 * `PUT /predictions/{id}` with `Prefer: respond-async` (202, then webhooks), cancel forwarded as
 * `POST /predictions/{id}/cancel`. A repeated PUT for the same attempt returns the running
 * prediction instead of starting a second one, so a dispatch retried after a lost answer is safe.
 */

import type { PredictionRequest } from '@dragflow/shared';
import {
  DispatchError,
  type Dispatcher,
  type DispatchJob,
  isRetryableStatus,
  predictionIdOf,
} from './dispatcher.ts';
import { GPU_WEBHOOK_EVENTS } from './gpu-report.ts';

const REQUEST_TIMEOUT_MS = 30_000;

export class CogDispatcher implements Dispatcher {
  readonly name = 'cog';

  constructor(private readonly baseUrl: string) {}

  private url(path: string): string {
    return `${this.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  async start(job: DispatchJob): Promise<{ predictionId: string }> {
    const predictionId = predictionIdOf(job.editId, job.attempt);
    let response: Response;
    try {
      response = await fetch(this.url(`/predictions/${predictionId}`), {
        method: 'PUT',
        headers: { 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({
          id: predictionId,
          input: job.input,
          webhook: job.callbackUrl,
          webhook_events_filter: [...GPU_WEBHOOK_EVENTS],
        } satisfies PredictionRequest),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new DispatchError(
        `GPU function unreachable: ${error instanceof Error ? error.message : String(error)}`,
        true,
      );
    }
    const text = await response.text();
    if (response.status === 200 || response.status === 201 || response.status === 202)
      return { predictionId };
    throw new DispatchError(
      `GPU function answered ${response.status} to PUT /predictions/${predictionId}: ${text.slice(0, 300)}`,
      isRetryableStatus(response.status),
    );
  }

  async cancel(predictionId: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.url(`/predictions/${predictionId}/cancel`), {
        method: 'POST',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new DispatchError(
        `GPU function unreachable: ${error instanceof Error ? error.message : String(error)}`,
        true,
      );
    }
    await response.body?.cancel();
    if (response.ok || response.status === 404) return;
    throw new DispatchError(
      `GPU function answered ${response.status} to cancel ${predictionId}`,
      isRetryableStatus(response.status),
    );
  }
}
