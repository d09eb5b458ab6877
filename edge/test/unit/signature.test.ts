/** Standard Webhooks signing and verification, checked against the standardwebhooks library both ways. */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signedHeaders, verifySigned } from '../../src/webhooks/signature.ts';

describe('Standard Webhooks signatures', () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({ type: 'edit.succeeded', data: { id: 'ed_1' } });

  it('signs what standardwebhooks verifies, and verifies what it signs', async () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const headers = await signedHeaders(secret, 'msg_1', body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    const now = new Date();
    const theirs = new Headers({
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_2', now, body),
    });
    expect(await verifySigned(secret, theirs, body)).toEqual({
      ok: true,
      id: 'msg_2',
      timestampS: Math.floor(now.getTime() / 1000),
    });
  });

  it('refuses a changed body, another secret, missing headers and a timestamp past 5 minutes', async () => {
    const headers = new Headers({ ...(await signedHeaders(secret, 'msg_3', body)) });
    expect(await verifySigned(secret, headers, `${body} `)).toEqual({ ok: false, problem: 'bad_signature' });
    expect(await verifySigned(newWebhookSecret(), headers, body)).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
    expect(await verifySigned(secret, new Headers(), body)).toEqual({
      ok: false,
      problem: 'missing_headers',
    });
    const old = new Headers({ ...(await signedHeaders(secret, 'msg_4', body, Date.now() - 301_000)) });
    expect(await verifySigned(secret, old, body)).toEqual({ ok: false, problem: 'stale_timestamp' });
    const fresh = new Headers({ ...(await signedHeaders(secret, 'msg_5', body, Date.now() - 299_000)) });
    expect((await verifySigned(secret, fresh, body)).ok).toBe(true);
  });
});
