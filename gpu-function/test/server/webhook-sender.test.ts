/**
 * The webhook sender against a real receiver on loopback, on a virtual clock: sleeps advance the
 * clock at once, so throttling and backoff are checked exactly and no assertion depends on speed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, WEBHOOK_INTERVAL_MS, WebhookSender } from '../../src/server/webhook-sender.ts';
import { type Answer, type Receiver, startReceiver } from './http-fixtures.ts';

class VirtualClock implements Clock {
  time = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (!signal?.aborted) this.time += ms;
  }
}

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

function sender(
  url: string,
  clock: VirtualClock,
  state: { step: number },
  extra: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {},
) {
  const lines: string[] = [];
  const webhook = new WebhookSender({
    url: new URL('/hook?secret=s3', url),
    allowLoopback: true,
    snapshot: () => ({ step: state.step, at: clock.now() }),
    log: (line) => lines.push(line),
    clock,
    ...extra,
  });
  return { webhook, lines };
}

const steps = (r: Receiver) =>
  r.requests.map((request) => JSON.parse(request.body.toString()).step as number);

describe('webhook sender', () => {
  it('sends the first event at once, coalesces the rest into the latest state, and spaces them by the interval', async () => {
    receiver = await startReceiver();
    const clock = new VirtualClock();
    const state = { step: 0 };
    const { webhook } = sender(receiver.url, clock, state);
    webhook.notify('start');
    for (let step = 1; step <= 10; step++) {
      state.step = step;
      webhook.notify('logs');
    }
    // The start delivery took the state when it left (step 0); the ten logs events became one delivery.
    await receiver.waitFor((r) => JSON.parse(r.body.toString()).step === 10);
    expect(await webhook.complete()).toBe('delivered');
    const sent = receiver.requests.map((r) => JSON.parse(r.body.toString()) as { step: number; at: number });
    expect(sent).toHaveLength(3);
    expect(sent.map((s) => s.step)).toEqual([0, 10, 10]);
    expect(sent[1]!.at - sent[0]!.at).toBe(WEBHOOK_INTERVAL_MS);
    expect(clock.sleeps).toEqual([WEBHOOK_INTERVAL_MS]);
    expect(receiver.requests.map((r) => r.path)).toEqual([
      '/hook?secret=s3',
      '/hook?secret=s3',
      '/hook?secret=s3',
    ]);
  });

  it('drops a pending non-terminal delivery when the prediction ends: completed comes next, and last', async () => {
    receiver = await startReceiver();
    const clock = new VirtualClock();
    const state = { step: 1 };
    const { webhook } = sender(receiver.url, clock, state);
    webhook.notify('start');
    state.step = 2;
    webhook.notify('logs');
    state.step = 3;
    expect(await webhook.complete()).toBe('delivered');
    expect(steps(receiver)).toEqual([1, 3]);
    webhook.notify('logs');
    expect(receiver.requests).toHaveLength(2);
  });

  it('retries the terminal webhook on 503 with backoff 200, 400 ms and carries the bearer token', async () => {
    let calls = 0;
    receiver = await startReceiver((): Answer => ({ status: ++calls <= 2 ? 503 : 200 }));
    const clock = new VirtualClock();
    const { webhook, lines } = sender(receiver.url, clock, { step: 9 }, { authToken: 'tok-123' });
    expect(await webhook.complete()).toBe('delivered');
    expect(receiver.requests).toHaveLength(3);
    expect(clock.sleeps).toEqual([200, 400]);
    expect(receiver.requests.every((r) => r.headers.authorization === 'Bearer tok-123')).toBe(true);
    expect(receiver.requests.every((r) => r.headers['content-type'] === 'application/json')).toBe(true);
    // Logs name the receiver without its query (signatures) and never the token.
    expect(lines.join('\n')).toContain('/hook: HTTP 503, retry in 200 ms');
    expect(lines.join('\n')).not.toMatch(/s3|tok-123/);
  });

  it('gives up at once on a status Cog does not retry (400)', async () => {
    receiver = await startReceiver(() => ({ status: 400 }));
    const clock = new VirtualClock();
    const { webhook } = sender(receiver.url, clock, { step: 1 });
    expect(await webhook.complete()).toBe('failed');
    expect(receiver.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('retries a refused connection 12 times, backoff doubling from 200 ms up to 102.4 s', async () => {
    receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;
    const clock = new VirtualClock();
    const { webhook } = sender(url, clock, { step: 1 });
    expect(await webhook.complete()).toBe('failed');
    expect(clock.sleeps).toEqual([
      200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 102_400, 102_400, 102_400,
    ]);
  });

  it('keeps only the events of the filter', async () => {
    receiver = await startReceiver();
    const clock = new VirtualClock();
    const state = { step: 1 };
    const onlyCompleted = sender(receiver.url, clock, state, { filter: ['completed'] }).webhook;
    onlyCompleted.notify('start');
    onlyCompleted.notify('logs');
    expect(await onlyCompleted.complete()).toBe('delivered');
    expect(receiver.requests).toHaveLength(1);
    const noCompleted = sender(receiver.url, clock, state, { filter: ['start'] }).webhook;
    noCompleted.notify('start');
    noCompleted.notify('output');
    expect(await noCompleted.complete()).toBe('filtered');
    expect(receiver.requests).toHaveLength(2);
  });

  it('refuses to post to loopback unless the local-dev switch allows it', async () => {
    receiver = await startReceiver();
    const clock = new VirtualClock();
    const { webhook, lines } = sender(receiver.url, clock, { step: 1 }, { allowLoopback: false });
    expect(await webhook.complete()).toBe('failed');
    expect(receiver.requests).toHaveLength(0);
    expect(lines.join('\n')).toContain('must use https, not http');
  });
});
