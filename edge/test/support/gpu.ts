/**
 * Playing the GPU function in unit tests: find what the edge dispatched to the fake Cog server,
 * post Cog prediction objects to the callback URL it was given, and upload output files through
 * the edge's Cog upload route.
 */
import { env } from 'cloudflare:test';
import { inject } from 'vitest';
import { call } from './api.ts';

/** Polls `check` until it returns a value (bounded: the edge works asynchronously in alarms). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export interface Dispatched {
  readonly predictionId: string;
  /** Path and query of the callback URL (the host is the test edge). */
  readonly callback: string;
  readonly input: Record<string, unknown>;
  readonly body: Record<string, unknown>;
}

interface FakeCall {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

export async function fakeCogCalls(prefix: string): Promise<FakeCall[]> {
  const response = await fetch(`${inject('fakeCogUrl')}/_calls?prefix=${encodeURIComponent(prefix)}`);
  return (await response.json()) as FakeCall[];
}

export async function waitForDispatch(editId: string, attempt = 1): Promise<Dispatched> {
  const predictionId = `${editId}-a${attempt}`;
  const put = await waitFor(`dispatch of ${predictionId}`, async () =>
    (await fakeCogCalls(predictionId)).find((c) => c.method === 'PUT'),
  );
  const url = new URL(put.body.webhook as string);
  return {
    predictionId,
    callback: `${url.pathname}${url.search}`,
    input: put.body.input as Record<string, unknown>,
    body: put.body,
  };
}

export function prediction(
  id: string,
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    version: 'demo',
    input: {},
    output: null,
    logs: '',
    error: null,
    error_detail: null,
    status,
    progress: null,
    metrics: {},
    created_at: '2026-11-01T00:00:00.000Z',
    started_at: null,
    completed_at: null,
    ...extra,
  };
}

export function progressReport(
  id: string,
  phase: string,
  step: number,
  total: number,
  loss: number | null = 0.5,
) {
  return prediction(id, 'processing', { progress: { phase, step, total, loss, transformer_calls: step } });
}

export function postCallback(callback: string, body: unknown): Promise<Response> {
  return call(callback, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** PUTs a file through the Cog upload route; returns the Location (what a Cog output holds). */
export async function uploadOutput(
  filename: string,
  bytes: Uint8Array,
  contentType = 'image/png',
): Promise<string> {
  const response = await call(`/internal/gpu-uploads/${env.GPU_UPLOAD_TOKEN as string}/${filename}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body: bytes,
  });
  if (response.status !== 201)
    throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  return response.headers.get('location')!;
}

/** A succeeded prediction whose image and mask went through the upload route. */
export async function succeeded(
  id: string,
  image: Uint8Array,
  mask: Uint8Array,
): Promise<Record<string, unknown>> {
  return prediction(id, 'succeeded', {
    output: {
      image: await uploadOutput('image.png', image),
      editable_mask: await uploadOutput('editable-mask.png', mask),
      previews: [],
    },
    metrics: { predict_time: 1.5, transformer_calls: 108 },
  });
}
