/**
 * A FAKE Cog server for the edge's unit tests (the end-to-end suite uses the real GPU function).
 * It records each PUT /predictions/{id} and cancel and answers as Cog's async API does (202
 * {id, status: "starting"}); it runs nothing, the tests post the callbacks themselves. Behaviour
 * comes from the request itself: prompts.background "fake:busy" answers 409 (at capacity),
 * "fake:reject" answers 422. GET /_calls?prefix= lists what it received.
 */
import { type Listening, listen, readText, sendJson } from './http-json.ts';

export interface FakeCogCall {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

export async function startFakeCog(): Promise<Listening> {
  const calls: FakeCogCall[] = [];
  return listen(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const text = await readText(request);
    if (request.method === 'GET' && url.pathname === '/_calls') {
      const prefix = url.searchParams.get('prefix') ?? '';
      sendJson(
        response,
        200,
        calls.filter((call) => call.path.includes(prefix)),
      );
      return;
    }
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    calls.push({ method: request.method ?? '', path: url.pathname, body });
    const put = /^\/predictions\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'PUT' && put) {
      const background = (body?.input as { prompts?: { background?: string } })?.prompts?.background;
      if (background === 'fake:busy')
        return sendJson(response, 409, { detail: 'Already running a prediction' });
      if (background === 'fake:reject') return sendJson(response, 422, { detail: 'input rejected' });
      return sendJson(response, 202, { id: put[1], status: 'starting' });
    }
    if (request.method === 'POST' && /^\/predictions\/[^/]+\/cancel$/.test(url.pathname)) {
      return sendJson(response, 200, {});
    }
    sendJson(response, 404, {});
  });
}
