/**
 * A FAKE of Replicate's HTTP API on loopback, for driving the edge's `replicate` dispatcher with
 * the real `replicate` npm client (pointed at it with baseUrl). It is not Replicate: it speaks the
 * part of the API the edge uses: POST /v1/predictions (version) and
 * /v1/models/{owner}/{name}/predictions (model), GET /v1/predictions/{id},
 * POST /v1/predictions/{id}/cancel, bearer auth, and webhooks signed the way Replicate signs them
 * (Standard Webhooks, webhook-id stable across retries).
 *
 * Two ways to run a prediction:
 * - `cogUrl` given: it is forwarded to that Cog server (the real GPU function in the end-to-end
 *   suite) with the fake's own webhook; each Cog update becomes a Replicate-shaped prediction
 *   (no `progress` field: Replicate passes logs only) posted, signed, to the edge. Output files
 *   are hosted by the fake as Replicate hosts them: give the Cog server `--upload-url
 *   {fake}/_files`; it PUTs each file there and the fake serves it at the returned URL.
 * - without: nothing runs; a test inside workerd (which the fake cannot call back) asks
 *   POST /_signed/{id} {status, output?, logs?, error?, timestampOffsetS?, badSignature?,
 *   webhookId?} for the webhook the fake would send: {url, headers, body}, and posts it itself.
 *   GET /_predictions and /_requests show its state and what it received.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { type Listening, listen, readText, sendJson } from './http-json.ts';

export interface FakeReplicateOptions {
  readonly token: string;
  /** whsec_ secret the fake signs its webhooks with (the edge's REPLICATE_WEBHOOK_SECRET). */
  readonly webhookSecret: string;
  readonly cogUrl?: string;
  /** Port on 127.0.0.1; default a free one. */
  readonly port?: number;
}

interface FakePrediction {
  id: string;
  model: string;
  version: string;
  input: unknown;
  logs: string;
  output: unknown;
  error: string | null;
  status: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  metrics: Record<string, number>;
  urls: Record<string, string>;
  webhook?: string;
  webhook_events_filter?: string[];
  source: 'api';
}

export interface FakeReplicate extends Listening {
  /** Requests received, for assertions. */
  readonly requests: { method: string; path: string; body: unknown; authorization: string | undefined }[];
}

function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export async function startFakeReplicate(options: FakeReplicateOptions): Promise<FakeReplicate> {
  const predictions = new Map<string, FakePrediction>();
  const files = new Map<string, { type: string; bytes: Buffer }>();
  const requests: FakeReplicate['requests'] = [];
  let self = '';

  interface SignOptions {
    timestampOffsetS?: number;
    badSignature?: boolean;
    webhookId?: string;
  }

  function signed(prediction: FakePrediction, extra: SignOptions = {}) {
    const body = JSON.stringify(prediction);
    const id = extra.webhookId ?? `msg_${randomBytes(12).toString('hex')}`;
    const timestamp = Math.floor(Date.now() / 1000) + (extra.timestampOffsetS ?? 0);
    const secret = extra.badSignature ? `whsec_${randomBytes(24).toString('base64')}` : options.webhookSecret;
    const headers = {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': sign(secret, id, timestamp, body),
    };
    return { url: prediction.webhook ?? '', headers, body };
  }

  async function deliver(prediction: FakePrediction): Promise<{ status: number; body: string }> {
    if (!prediction.webhook) return { status: 0, body: 'no webhook' };
    const { headers, body } = signed(prediction);
    // Replicate retries a webhook with the same id; so does the fake, on 5xx (3 tries).
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await fetch(prediction.webhook, { method: 'POST', headers, body });
      const text = await response.text();
      if (response.status < 500) return { status: response.status, body: text };
    }
    return { status: 500, body: 'gave up' };
  }

  /** A Cog prediction (from the GPU function's webhook) as Replicate reports it. */
  function fromCog(prediction: FakePrediction, cog: Record<string, unknown>): void {
    prediction.status = String(cog.status);
    prediction.logs = String(cog.logs ?? '');
    prediction.output = cog.output ?? null;
    prediction.error = (cog.error as string | null) ?? null;
    prediction.started_at = (cog.started_at as string | null) ?? null;
    prediction.completed_at = (cog.completed_at as string | null) ?? null;
    const metrics = (cog.metrics ?? {}) as Record<string, number>;
    prediction.metrics = { ...metrics };
  }

  const server = await listen(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake-replicate');
    const upload = /^\/_files\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
    if (upload && request.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const path = `${randomBytes(8).toString('hex')}/${upload[1]}`;
      files.set(path, {
        type: request.headers['content-type'] ?? 'application/octet-stream',
        bytes: Buffer.concat(chunks),
      });
      response.writeHead(201, { location: `${self}/_files/${path}` });
      response.end();
      return;
    }
    const file = files.get(url.pathname.replace(/^\/_files\//, ''));
    if (file && request.method === 'GET') {
      response.writeHead(200, { 'content-type': file.type, 'content-length': String(file.bytes.byteLength) });
      response.end(file.bytes);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/_predictions')
      return sendJson(response, 200, [...predictions.values()]);
    if (request.method === 'GET' && url.pathname === '/_requests') return sendJson(response, 200, requests);
    const text = await readText(request);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    requests.push({
      method: request.method ?? '',
      path: url.pathname,
      body,
      authorization: request.headers.authorization,
    });

    const toSign = /^\/_signed\/([^/]+)$/.exec(url.pathname);
    if (toSign && request.method === 'POST') {
      const prediction = predictions.get(toSign[1]!);
      if (!prediction) return sendJson(response, 404, {});
      const { timestampOffsetS, badSignature, webhookId, ...fields } = body as Record<string, unknown>;
      Object.assign(prediction, fields);
      const extra = { timestampOffsetS, badSignature, webhookId } as SignOptions;
      return sendJson(response, 200, signed(prediction, extra));
    }
    const cogHook = /^\/_cog-webhook\/([^/]+)$/.exec(url.pathname);
    if (cogHook && request.method === 'POST') {
      const prediction = predictions.get(cogHook[1]!);
      if (!prediction) return sendJson(response, 404, {});
      fromCog(prediction, body as Record<string, unknown>);
      const delivered = await deliver(prediction);
      // Pass the edge's verdict on to the GPU function (a 5xx makes it retry a terminal webhook).
      return sendJson(response, delivered.status >= 500 ? 502 : 200, {});
    }

    if (request.headers.authorization !== `Bearer ${options.token}`) {
      return sendJson(response, 401, {
        title: 'Unauthenticated',
        detail: 'You did not pass a valid authentication token',
        status: 401,
      });
    }
    const byModel = /^\/v1\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(url.pathname);
    if (request.method === 'POST' && (url.pathname === '/v1/predictions' || byModel)) {
      const id = randomBytes(13).toString('hex').slice(0, 26);
      const prediction: FakePrediction = {
        id,
        model: byModel ? `${byModel[1]}/${byModel[2]}` : 'fake/model',
        version: (body?.version as string) ?? 'fake-version',
        input: body?.input,
        logs: '',
        output: null,
        error: null,
        status: 'starting',
        created_at: new Date().toISOString(),
        started_at: null,
        completed_at: null,
        metrics: {},
        urls: {
          get: `${self}/v1/predictions/${id}`,
          cancel: `${self}/v1/predictions/${id}/cancel`,
          web: `${self}/p/${id}`,
        },
        webhook: body?.webhook as string | undefined,
        webhook_events_filter: body?.webhook_events_filter as string[] | undefined,
        source: 'api',
      };
      predictions.set(id, prediction);
      if (options.cogUrl) {
        const cog = await fetch(`${options.cogUrl}/predictions/${id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', prefer: 'respond-async' },
          body: JSON.stringify({ id, input: body?.input, webhook: `${self}/_cog-webhook/${id}` }),
        });
        if (cog.status >= 400) return sendJson(response, 502, { detail: `backend answered ${cog.status}` });
      }
      return sendJson(response, 201, prediction);
    }
    const get = /^\/v1\/predictions\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && get) {
      const prediction = predictions.get(get[1]!);
      return prediction
        ? sendJson(response, 200, prediction)
        : sendJson(response, 404, { detail: 'Not found.' });
    }
    const cancel = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(url.pathname);
    if (request.method === 'POST' && cancel) {
      const prediction = predictions.get(cancel[1]!);
      if (!prediction) return sendJson(response, 404, { detail: 'Not found.' });
      if (options.cogUrl)
        await fetch(`${options.cogUrl}/predictions/${prediction.id}/cancel`, { method: 'POST' });
      else prediction.status = 'canceled';
      return sendJson(response, 200, prediction);
    }
    sendJson(response, 404, { detail: 'Not found.' });
  }, options.port);
  self = server.url;
  return { ...server, requests };
}
