/**
 * The outbound guard: which addresses the server may connect to, checked on IP literals before
 * connecting and on resolved names inside the lookup. Refused targets are never connected to, so
 * these tests send no traffic beyond loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { forbiddenAddress, guardedLookup } from '../../src/server/address-policy.ts';
import { OutboundError, redactUrl, sendOutbound } from '../../src/server/outbound.ts';
import { type Answer, type Receiver, startReceiver } from './http-fixtures.ts';

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function failure(promise: Promise<unknown>): Promise<[string, string]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutboundError);
  return [(error as OutboundError).kind, (error as OutboundError).message];
}

describe('address policy', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', '"this network"'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'unspecified or IPv4-compatible'],
    ['fd00::1', 'unique local (private)'],
    ['fe80::1', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local (cloud metadata)'],
    ['64:ff9b::a00:1', 'NAT64 (an IPv4 address in disguise)'],
    ['2001:db8::1', 'documentation'],
  ])('refuses %s (%s)', (address, what) => {
    expect(forbiddenAddress(address, false)).toBe(what);
  });

  it('allows public unicast, and loopback only with the local-dev switch', () => {
    expect(
      ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1'].map((a) => forbiddenAddress(a, false)),
    ).toEqual([undefined, undefined, undefined, undefined]);
    expect(
      ['127.0.0.1', '127.200.0.1', '::1', '::ffff:127.0.0.1'].map((a) => forbiddenAddress(a, true)),
    ).toEqual([undefined, undefined, undefined, undefined]);
    expect(forbiddenAddress('10.0.0.1', true)).toBe('private');
  });

  it('checks every address a name resolves to, inside the lookup', async () => {
    const lookup = (allow: boolean) =>
      new Promise<string>((resolve) =>
        guardedLookup(allow)('localhost', { family: 0 }, (error, address) =>
          resolve(error ? error.message : String(address)),
        ),
      );
    expect(await lookup(false)).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
    expect(await lookup(true)).toMatch(/^(127\.0\.0\.1|::1)$/);
  });
});

describe('outbound requests', () => {
  it('refuse private and metadata IP literals and non-https before connecting', async () => {
    const get = (url: string, allowLoopback = false) =>
      failure(
        sendOutbound({ method: 'GET', url: new URL(url), allowLoopback, maxBytes: 10, timeoutMs: 1000 }),
      );
    expect(await get('https://10.0.0.1/image.png')).toEqual([
      'address_not_allowed',
      '10.0.0.1 is a private address',
    ]);
    expect(await get('https://[::ffff:169.254.169.254]/latest/meta-data')).toEqual([
      'address_not_allowed',
      '::ffff:a9fe:a9fe is a link-local (cloud metadata) address',
    ]);
    expect(await get('https://localhost:1/x')).toEqual([
      'address_not_allowed',
      expect.stringMatching(/^localhost resolves to .*, a loopback address$/),
    ]);
    expect(await get('http://example.com/x', true)).toEqual(['url', 'must use https, not http']);
  });

  it('stop at the byte limit, whether the answer declares its length or streams it', async () => {
    receiver = await startReceiver(
      (request): Answer =>
        request.path === '/declared'
          ? { status: 200, headers: { 'content-length': '2000' }, body: 'x'.repeat(2000) }
          : { status: 200, headers: { 'transfer-encoding': 'chunked' }, body: 'y'.repeat(2000) },
    );
    const get = (path: string, maxBytes: number) =>
      sendOutbound({
        method: 'GET',
        url: new URL(path, receiver!.url),
        allowLoopback: true,
        maxBytes,
        timeoutMs: 30_000,
      });
    expect(await failure(get('/declared', 1000))).toEqual([
      'too_large',
      'answers 2000 bytes; the limit is 1000',
    ]);
    expect(await failure(get('/streamed', 1000))).toEqual([
      'too_large',
      'answers more than 1000 bytes; the limit is 1000',
    ]);
    const fine = await get('/streamed', 2000);
    expect([fine.status, fine.body.length]).toEqual([200, 2000]);
  });

  it('end at the deadline when the server never answers', async () => {
    receiver = await startReceiver(() => 'hold');
    const kind = await failure(
      sendOutbound({
        method: 'GET',
        url: new URL('/slow', receiver.url),
        allowLoopback: true,
        maxBytes: 10,
        timeoutMs: 200,
      }),
    );
    expect(kind).toEqual(['timeout', 'did not answer within 0.2 s']);
  });

  it('return redirects instead of following them, and log URLs without their query', async () => {
    receiver = await startReceiver(() => ({ status: 302, headers: { location: 'https://10.0.0.1/' } }));
    const answer = await sendOutbound({
      method: 'GET',
      url: new URL('/r?X-Amz-Signature=abc', receiver.url),
      allowLoopback: true,
      maxBytes: 100,
    });
    expect([answer.status, answer.headers.location]).toEqual([302, 'https://10.0.0.1/']);
    expect(receiver.requests).toHaveLength(1);
    expect(redactUrl('https://store.example/b/k.png?X-Amz-Signature=abc#f')).toBe(
      'https://store.example/b/k.png',
    );
  });
});
