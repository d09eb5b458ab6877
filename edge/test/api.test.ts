/** Auth, request ids, ownership and the documents of the public API. */
import { describe, expect, it } from 'vitest';
import { adminCall, api, call, editRequest, json, newAccount } from './support/api.ts';

describe('authentication', () => {
  it('refuses a missing, malformed, unknown or revoked key with 401 and a request id', async () => {
    const account = await newAccount();
    const revoke = await adminCall(`/admin/keys/${account.keyId}/revoke`, {});
    expect(revoke.status).toBe(200);
    const cases: [Record<string, string>, string][] = [
      [{}, 'Authorization header missing; send Authorization: Bearer <api key>'],
      [{ authorization: 'Basic abc' }, 'Authorization header must be "Bearer <api key>"'],
      [{ authorization: 'Bearer short' }, 'API key is malformed (expected dfk_ and 43 characters)'],
      [{ authorization: `Bearer dfk_${'A'.repeat(43)}` }, 'API key is not valid'],
      [{ authorization: `Bearer ${account.key}` }, 'API key was revoked'],
    ];
    for (const [headers, message] of cases) {
      const response = await call('/v1/usage', { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('x-request-id')).toMatch(/^req_[A-Za-z0-9_-]{20}$/);
      expect(await json(response)).toEqual({ code: 'unauthorized', message });
    }
  });

  it('gives every response a distinct request id, errors and unknown routes included', async () => {
    const account = await newAccount();
    const responses = await Promise.all([
      api(account, 'GET', '/v1/usage'),
      call('/v1/nowhere'),
      call('/v1/openapi.json'),
      api(account, 'DELETE', '/v1/usage'),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 401, 200, 405]);
    const ids = responses.map((response) => response.headers.get('x-request-id'));
    expect(new Set(ids).size).toBe(4);
    expect(await json(responses[3]!)).toEqual({
      code: 'method_not_allowed',
      message: 'DELETE is not allowed here; use GET',
    });
    expect(responses[3]!.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('ownership', () => {
  it("answers another account's edit with 404, as for an id that does not exist", async () => {
    const owner = await newAccount();
    const other = await newAccount();
    const submitted = await api(owner, 'POST', '/v1/edits', editRequest());
    expect(submitted.status).toBe(202);
    const { id } = await json<{ id: string }>(submitted);
    for (const [method, path] of [
      ['GET', `/v1/edits/${id}`],
      ['POST', `/v1/edits/${id}/cancel`],
      ['GET', `/v1/edits/${id}/events`],
      ['GET', `/v1/edits/${id}/webhook-deliveries`],
    ] as const) {
      const response = await api(other, method, path);
      expect(response.status).toBe(404);
      expect(await json(response)).toEqual({ code: 'not_found', message: `no edit ${id} in this account` });
    }
    const missing = await api(owner, 'GET', '/v1/edits/ed_doesnotexist0000000');
    expect(await json(missing)).toEqual({
      code: 'not_found',
      message: 'no edit ed_doesnotexist0000000 in this account',
    });
    expect((await api(owner, 'GET', `/v1/edits/${id}`)).status).toBe(200);
  });
});

describe('documents', () => {
  it('serves an OpenAPI 3.1 document whose schemas come from the shared contract', async () => {
    const response = await call('/v1/openapi.json');
    const document = await json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { title?: string }> };
    }>(response);
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual([
      '/v1/uploads',
      '/v1/uploads/{id}',
      '/v1/edits',
      '/v1/edits/{id}',
      '/v1/edits/{id}/cancel',
      '/v1/edits/{id}/events',
      '/v1/edits/{id}/webhook-deliveries',
      '/v1/usage',
      '/v1/webhook-secret',
    ]);
    expect(
      Object.fromEntries(
        Object.entries(document.components.schemas).map(([name, schema]) => [name, schema.title]),
      ),
    ).toEqual({
      EditRequest: 'EditRequest',
      Job: 'Job',
      ApiError: 'ApiError',
      Edit: 'Edit',
      Upload: 'Upload',
      SignedUploadRequest: 'SignedUploadRequest',
      Usage: 'Usage',
      WebhookDeliveries: 'WebhookDeliveries',
      EditWebhook: 'EditWebhook',
      WebhookSecret: 'WebhookSecret',
    });
  });

  it('renders the docs page from that document', async () => {
    const response = await call('/docs');
    expect(response.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    const html = await response.text();
    expect(html.match(/<section class="op">/g)).toHaveLength(10);
    expect(html).toContain('<code>/v1/edits/{id}/events</code> Stream an edit');
    expect(html).toContain('<td><code>insufficient_credits</code></td><td>402</td>');
    expect(html).toContain('id="schema-EditRequest"');
  });
});
