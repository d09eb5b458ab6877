/**
 * The public edit object: the shared contract's Job (status, progress, output, error, metrics,
 * metadata, times) plus the edit's URLs. Results and previews are rendered as expiring signed
 * URLs at the moment the object is sent, so a webhook retried hours later still carries URLs
 * that work; the costs sit in metrics as numbers (price held, credits charged).
 */
import type { ApiError, Job, Progress } from '@dragflow/shared';
import type { ObjectStore } from '../storage/object-store.ts';
import { type EditStatus, publicStatus } from './state-machine.ts';

/** What the Durable Object knows about an edit, with storage keys where the public object has URLs. */
export interface EditSnapshot {
  readonly id: string;
  readonly status: EditStatus;
  readonly progress: Progress | null;
  readonly previewKeys: readonly string[];
  readonly output: { readonly imageKey: string; readonly maskKey: string | null } | null;
  readonly error: ApiError | null;
  readonly gpuMetrics: Readonly<Record<string, number>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly price: number;
  readonly charged: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
}

export interface EditUrls {
  readonly get: string;
  readonly cancel: string;
  readonly events: string;
  readonly webhook_deliveries: string;
}

export type EditObjectJson = Job & { readonly urls: EditUrls };

export function editUrls(baseUrl: string, id: string): EditUrls {
  const self = `${baseUrl}/v1/edits/${id}`;
  return {
    get: self,
    cancel: `${self}/cancel`,
    events: `${self}/events`,
    webhook_deliveries: `${self}/webhook-deliveries`,
  };
}

function seconds(fromIso: string, toIso: string | null): number | undefined {
  if (toIso === null) return undefined;
  return Math.max(0, (Date.parse(toIso) - Date.parse(fromIso)) / 1000);
}

export async function renderEdit(
  snapshot: EditSnapshot,
  store: ObjectStore,
  baseUrl: string,
  urlTtlS: number,
): Promise<EditObjectJson> {
  const sign = (key: string) => store.signedGetUrl(key, urlTtlS);
  const previews = await Promise.all(snapshot.previewKeys.map(sign));
  const output = snapshot.output
    ? {
        image: await sign(snapshot.output.imageKey),
        ...(snapshot.output.maskKey ? { editable_mask: await sign(snapshot.output.maskKey) } : {}),
        previews,
      }
    : null;
  const totalTime = seconds(snapshot.createdAt, snapshot.completedAt);
  return {
    id: snapshot.id,
    status: publicStatus(snapshot.status),
    progress: snapshot.progress,
    output,
    error: snapshot.error,
    metrics: {
      ...snapshot.gpuMetrics,
      ...(totalTime === undefined ? {} : { total_time: totalTime }),
      price_credits: snapshot.price,
      charged_credits: snapshot.charged,
    },
    metadata: { ...snapshot.metadata },
    created_at: snapshot.createdAt,
    started_at: snapshot.startedAt,
    completed_at: snapshot.completedAt,
    urls: editUrls(baseUrl, snapshot.id),
  };
}
