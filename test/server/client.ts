/**
 * What the server suites share: the edit they send (a 64x64 scene, a red disk relocated 16 px on
 * the demo bundle), edit sizes from quick to too long to ever finish in a test, and small HTTP
 * helpers that validate every prediction against the shared contract.
 */
import type { EditRequest } from '@dragflow/shared/edit-request';
import { validate } from '@dragflow/shared/issues';
import { type Prediction, PredictionSchema } from '@dragflow/shared/prediction';
import { expect } from 'vitest';
import { type Received, send } from '../../gpu-function/test/server/http-fixtures.ts';
import { blankScene, disk, paint, requestFor } from '../e2e/scenes.ts';

export const SIZE = 64;
export const SOURCE = disk(27.5, 27.5, 12);
export const TARGET: [number, number] = [44, 28];

/** Options by how long the edit runs (demo bundle, 64x64, one relocation). */
export const EDITS = {
  /** 19 transformer calls: well under a second warm. */
  quick: { steps: 4, skip_steps: 1, transport_iterations: 4, intensify_iterations: 2 },
  /** 55 transformer calls: long enough for several throttled webhooks. */
  webhooks: { steps: 4, skip_steps: 1, transport_iterations: 40, intensify_iterations: 2 },
  /** 1015 transformer calls: a test cancels it long before it could end. */
  endless: { steps: 4, skip_steps: 1, transport_iterations: 500, intensify_iterations: 500 },
} as const;

export async function editInput(options: EditRequest['options'] = EDITS.quick): Promise<EditRequest> {
  const scene = blankScene(SIZE, SIZE);
  paint(scene, SOURCE, [220, 40, 40]);
  return requestFor(scene, [{ kind: 'relocate', shape: SOURCE, target: TARGET }], options);
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const reply = await send(url, method, text, { 'content-type': 'application/json', ...headers });
  return {
    status: reply.status,
    body: reply.text === '' ? {} : (JSON.parse(reply.text) as Record<string, unknown>),
  };
}

/** The answer's body as a prediction, checked against the shared schema. */
export function prediction(answer: Answer | Record<string, unknown>): Prediction {
  const body = 'status' in answer && typeof answer.status === 'number' ? (answer as Answer).body : answer;
  const result = validate(PredictionSchema, body);
  if (!result.ok) expect.fail(`not a prediction: ${JSON.stringify(result.errors)}`);
  return result.value;
}

/** A received webhook's prediction. */
export function hook(request: Received): Prediction {
  return prediction(JSON.parse(request.body.toString()) as Record<string, unknown>);
}

/** POST /predictions with `Prefer: respond-async`. */
export function postAsync(serverUrl: string, body: Record<string, unknown>): Promise<Answer> {
  return call(`${serverUrl}/predictions`, 'POST', body, { prefer: 'respond-async' });
}

/** Matches the webhook at `path` that carries a terminal prediction. */
export function isTerminalHook(path: string): (request: Received) => boolean {
  return (request) =>
    request.path === path && ['succeeded', 'failed', 'canceled'].includes(hook(request).status);
}
