/**
 * A local customer webhook receiver for tests: records every delivery to /hooks/{name} with its
 * headers and raw body, and answers 200, or for `failFirst` deliveries the configured status
 * (POST /_behaviour/{name} {"failFirst": 3, "status": 503}) to play a receiver that is down and
 * comes back, or {"hold": true} to leave every delivery unanswered until POST /_release/{name}
 * (a receiver that hangs). GET /_received/{name} lists what arrived, in arrival order. GET /redirect?to=URL
 * answers 302 to URL (for redirect checks of image fetching).
 */
import { type Listening, listen, readText, sendJson } from './http-json.ts';

export interface ReceivedWebhook {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly answered: number;
}

export async function startWebhookReceiver(): Promise<Listening> {
  const received = new Map<string, ReceivedWebhook[]>();
  const behaviour = new Map<string, { failFirst?: number; status?: number; hold?: boolean }>();
  const held = new Map<string, (() => void)[]>();
  return listen(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://receiver');
    const [, kind, name] = url.pathname.split('/');
    const text = await readText(request);
    if (kind === '_behaviour' && name && request.method === 'POST') {
      behaviour.set(name, JSON.parse(text) as { failFirst?: number; status?: number; hold?: boolean });
      return sendJson(response, 200, {});
    }
    if (kind === '_release' && name && request.method === 'POST') {
      behaviour.delete(name);
      const waiting = held.get(name) ?? [];
      held.delete(name);
      for (const release of waiting) release();
      return sendJson(response, 200, { released: waiting.length });
    }
    if (kind === '_received' && name) return sendJson(response, 200, received.get(name) ?? []);
    if (kind === 'redirect') {
      response.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      response.end();
      return;
    }
    if (kind === 'hooks' && name && request.method === 'POST') {
      const rule = behaviour.get(name);
      const list = received.get(name) ?? [];
      const status =
        rule?.failFirst !== undefined && list.length < rule.failFirst ? (rule.status ?? 503) : 200;
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([key, value]) => [key, String(value)]),
      );
      // Recorded on arrival, answered after a hold is released.
      list.push({ headers, body: text, answered: status });
      received.set(name, list);
      if (rule?.hold)
        await new Promise<void>((resolve) => held.set(name, [...(held.get(name) ?? []), resolve]));
      return sendJson(response, status, {});
    }
    sendJson(response, 404, {});
  });
}
