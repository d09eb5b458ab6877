/**
 * The HTTP API, as Cog's (coglet's) routes answer:
 *
 *   GET  /                          discovery document
 *   GET  /health-check              health.ts (always 200)
 *   GET  /openapi.json              openapi.ts
 *   POST /predictions               create; synchronous unless `Prefer: respond-async` (then 202)
 *   PUT  /predictions/{id}          the same, idempotent: an id running answers 202 with its state,
 *                                   an id finished recently answers 200 with its result
 *   POST /predictions/{id}/cancel   200 {} when the id is known, 404 {} when not
 *   POST /shutdown                  200 {}, then the server shuts down gracefully
 *
 * A request refused before it runs is answered as a failed prediction (error and error_detail):
 * 503 before setup succeeded, after a failure that made the server DEFUNCT and while shutting
 * down; 409 at capacity; 413 for a body over the limit; the contract's status for a bad request
 * (mostly 422). A synchronous prediction answers 200 when it succeeded, was canceled or failed on
 * our side (Cog: "prediction failure is data"), and the contract's 4xx status when it failed on its
 * input. Closing a synchronous request's connection cancels its prediction (coglet does the same).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApiError, httpStatusOf } from '@dragflow/shared/errors';
import { healthCheck } from './health.ts';
import { openApiDocument } from './openapi.ts';
import { Prediction } from './prediction.ts';
import { checkPredictionRequest, newPredictionId } from './prediction-request.ts';
import type { Runner } from './runner.ts';
import type { Setup } from './setup.ts';

export const DISCOVERY = {
  openapi_url: '/openapi.json',
  shutdown_url: '/shutdown',
  healthcheck_url: '/health-check',
  predictions_url: '/predictions',
  predictions_idempotent_url: '/predictions/{prediction_id}',
  predictions_cancel_url: '/predictions/{prediction_id}/cancel',
} as const;

export interface AppContext {
  setup: Setup;
  runner: Runner;
  allowLoopback: boolean;
  maxBodyBytes: number;
  /** The server's version, for the discovery and OpenAPI documents. */
  version: string;
  /** True once shutdown began: no new predictions. */
  stopping(): boolean;
  /** POST /shutdown. */
  requestShutdown(): void;
}

class BodyTooLarge extends Error {}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function respondAsync(req: IncomingMessage): boolean {
  return [req.headers.prefer ?? '']
    .flat()
    .flatMap((header) => header.split(','))
    .some((preference) => preference.trim().toLowerCase() === 'respond-async');
}

/** A prediction refused before it ran, answered with `status`. */
function refused(
  res: ServerResponse,
  status: number,
  id: string,
  input: unknown,
  version: string,
  error: ApiError,
) {
  const prediction = new Prediction(id, input, version);
  prediction.fail(error);
  send(res, status, prediction.toJSON());
}

/** The HTTP status a finished synchronous prediction is answered with. */
function finishedStatus(prediction: Prediction): number {
  const { status, error_detail: error } = prediction.toJSON();
  if (status !== 'failed' || error === null) return 200;
  const http = httpStatusOf(error.code);
  return http < 500 ? http : 200;
}

async function createPrediction(ctx: AppContext, req: IncomingMessage, res: ServerResponse, urlId?: string) {
  const version = ctx.setup.version;
  if ((req.headers.accept ?? '').includes('text/event-stream')) {
    send(res, 406, {
      detail: 'this server does not stream predictions; use webhooks or a synchronous request',
    });
    return;
  }
  let body: string;
  try {
    body = await readBody(req, ctx.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    res.setHeader('connection', 'close');
    const message = `request: the body is over the ${ctx.maxBodyBytes}-byte limit`;
    refused(res, 413, urlId ?? newPredictionId(), {}, version, { code: 'request_too_large', message });
    return;
  }
  const check = checkPredictionRequest(body, urlId, ctx.allowLoopback);
  const id = check.ok ? check.order.id : check.id;
  const conflict =
    !check.ok &&
    check.error.code === 'conflicting_fields' &&
    check.error.details?.errors?.[0]?.path[0] === 'id';
  const existing = conflict ? undefined : ctx.runner.find(id);
  if (existing) {
    send(res, existing.terminal ? 200 : 202, existing.toJSON());
    return;
  }
  const input = check.ok ? check.order.input : check.input;
  const notReady = ctx.stopping()
    ? 'the server is shutting down'
    : ctx.runner.defunct !== null
      ? `the server is defunct (${ctx.runner.defunct})`
      : ctx.setup.status === 'starting'
        ? 'setup has not finished yet'
        : ctx.setup.status === 'failed'
          ? `setup failed (${ctx.setup.error})`
          : null;
  if (notReady !== null && !conflict) {
    refused(res, 503, id, input, version, { code: 'not_ready', message: notReady });
    return;
  }
  if (!check.ok) {
    refused(res, httpStatusOf(check.error.code), id, input, version, check.error);
    return;
  }
  const prediction = ctx.runner.start(check.order);
  if (!prediction) {
    refused(res, 409, id, input, version, {
      code: 'at_capacity',
      message: `At capacity: all ${ctx.runner.slots.length} prediction slot(s) are busy`,
    });
    return;
  }
  if (respondAsync(req)) {
    send(res, 202, prediction.toJSON());
    return;
  }
  res.on('close', () => {
    if (!res.writableFinished && !prediction.terminal) ctx.runner.cancel(prediction.id);
  });
  await prediction.settled;
  send(res, finishedStatus(prediction), prediction.toJSON());
}

const PREDICTION_PATH = /^\/predictions\/([^/]+)$/;
const CANCEL_PATH = /^\/predictions\/([^/]+)\/cancel$/;

async function route(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://server').pathname;
  const method = req.method ?? 'GET';
  const only = async (allowed: string, handle: () => unknown): Promise<void> => {
    if (method !== allowed) {
      res.setHeader('allow', allowed);
      send(res, 405, { detail: 'Method Not Allowed' });
      return;
    }
    await handle();
  };
  if (path === '/')
    return only('GET', () => send(res, 200, { ...DISCOVERY, cog_version: `dragflow ${ctx.version}` }));
  if (path === '/health-check') return only('GET', () => send(res, 200, healthCheck(ctx.setup, ctx.runner)));
  if (path === '/openapi.json') return only('GET', () => send(res, 200, openApiDocument(ctx.version)));
  if (path === '/predictions') return only('POST', () => createPrediction(ctx, req, res));
  if (path === '/shutdown') {
    return only('POST', () => {
      send(res, 200, {});
      ctx.requestShutdown();
    });
  }
  const cancel = CANCEL_PATH.exec(path);
  if (cancel) {
    return only('POST', () => send(res, ctx.runner.cancel(decodeURIComponent(cancel[1]!)) ? 200 : 404, {}));
  }
  const idempotent = PREDICTION_PATH.exec(path);
  if (idempotent)
    return only('PUT', () => createPrediction(ctx, req, res, decodeURIComponent(idempotent[1]!)));
  send(res, 404, { detail: 'Not Found' });
}

export function createHandler(ctx: AppContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    route(ctx, req, res).catch((error: Error) => {
      // A bug in the server itself: answered, never a crash.
      send(res, 500, { detail: `internal error: ${error.message}` });
    });
  };
}
