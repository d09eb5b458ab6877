/**
 * Dispatch through Replicate with the replicate client: predictions.create with the webhook and
 * its events filter, predictions.cancel. Replicate signs its webhooks (Standard Webhooks); the
 * callback route verifies them (webhooks/signature.ts) before anything is read.
 */
import Replicate from 'replicate';
import type { ReplicateSettings } from '../config.ts';
import { DispatchError, type Dispatcher, type DispatchJob, isRetryableStatus } from './dispatcher.ts';
import { GPU_WEBHOOK_EVENTS } from './gpu-report.ts';

function statusOf(error: unknown): number | undefined {
  const response = (error as { response?: { status?: unknown } }).response;
  return typeof response?.status === 'number' ? response.status : undefined;
}

function dispatchError(error: unknown, what: string): DispatchError {
  const status = statusOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  return new DispatchError(
    `Replicate ${what}: ${reason.slice(0, 300)}`,
    status === undefined || isRetryableStatus(status),
  );
}

export class ReplicateDispatcher implements Dispatcher {
  readonly name = 'replicate';
  private readonly client: Replicate;

  constructor(private readonly settings: ReplicateSettings) {
    this.client = new Replicate({
      auth: settings.apiToken,
      ...(settings.baseUrl === undefined ? {} : { baseUrl: settings.baseUrl }),
      // The runtime's fetch, unbound methods are not allowed in workerd.
      fetch: (input, init) => fetch(input, init),
    });
  }

  async start(job: DispatchJob): Promise<{ predictionId: string }> {
    const target =
      this.settings.version === undefined
        ? { model: this.settings.model! }
        : { version: this.settings.version };
    try {
      const prediction = await this.client.predictions.create({
        ...target,
        input: job.input as object,
        webhook: job.callbackUrl,
        webhook_events_filter: [...GPU_WEBHOOK_EVENTS],
      });
      return { predictionId: prediction.id };
    } catch (error) {
      throw dispatchError(error, 'predictions.create failed');
    }
  }

  async cancel(predictionId: string): Promise<void> {
    try {
      await this.client.predictions.cancel(predictionId);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw dispatchError(error, `predictions.cancel(${predictionId}) failed`);
    }
  }
}
