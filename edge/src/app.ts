/**
 * The edge's HTTP surface. Public: /v1/* (API key), /v1/openapi.json and /docs (no key), /files/*
 * (signed URLs). For the GPU function: /internal/*. For operators: /admin/* (ADMIN_TOKEN).
 * `/` is left to the playground. Every response carries X-Request-Id; every error is an ApiError.
 */
import { type Context, Hono } from 'hono';
import { admit } from './auth/admit.ts';
import { rateHeaders } from './auth/rate-limit.ts';
import { ConfigError, configOf } from './config.ts';
import { newId } from './crypto.ts';
import { errorResponse, HttpError } from './http/api-error.ts';
import type { AppEnv } from './http/app-env.ts';
import { renderDocsPage } from './http/docs-page.ts';
import { allowOnly } from './http/methods.ts';
import { openApiDocument } from './http/openapi.ts';
import { admin } from './routes/admin.ts';
import { edits } from './routes/edits.ts';
import { files } from './routes/files.ts';
import { gpu } from './routes/gpu.ts';
import { uploads } from './routes/uploads.ts';
import { usage } from './routes/usage.ts';

export const app = new Hono<AppEnv>();

/** Adds headers to the response; a response passed through from elsewhere (a Durable Object) is copied first. */
function setHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  }
}

app.use('*', async (c, next) => {
  c.set('requestId', newId('req'));
  const config = configOf(c.env);
  c.set('config', config);
  c.set('baseUrl', config.publicUrl ?? new URL(c.req.url).origin);
  await next();
  setHeaders(c, { 'x-request-id': c.var.requestId });
});

app.onError((error, c) => {
  const requestId = c.var.requestId ?? newId('req');
  if (error instanceof HttpError) return errorResponse(error, requestId);
  const message =
    error instanceof ConfigError
      ? `the service is misconfigured: ${error.message}`
      : `unexpected failure; quote request id ${requestId}`;
  console.error(`request ${requestId} failed:`, error);
  return errorResponse(new HttpError('internal', message), requestId);
});

app.notFound((c) =>
  errorResponse(
    new HttpError('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`),
    c.var.requestId,
  ),
);

app.get('/v1/openapi.json', (c) => c.json(openApiDocument(c.var.baseUrl)));
allowOnly(app, '/v1/openapi.json', ['GET']);
app.get('/docs', (c) => c.html(renderDocsPage(openApiDocument(c.var.baseUrl))));
allowOnly(app, '/docs', ['GET']);

const v1 = new Hono<AppEnv>();
v1.use('*', async (c, next) => {
  const { config } = c.var;
  const { caller, rate } = await admit(
    c.env.DB,
    c.req.header('authorization'),
    config.defaultRateLimitPerMinute,
  );
  c.set('caller', caller);
  await next();
  setHeaders(c, rateHeaders(rate));
});
v1.route('/uploads', uploads);
v1.route('/edits', edits);
v1.route('/usage', usage);
v1.get('/webhook-secret', async (c) => {
  const row = await c.env.DB.prepare('SELECT webhook_secret FROM accounts WHERE id = ?')
    .bind(c.var.caller.accountId)
    .first<{ webhook_secret: string }>();
  return c.json({ secret: row!.webhook_secret });
});
allowOnly(v1, '/webhook-secret', ['GET']);

app.route('/v1', v1);
app.route('/files', files);
app.route('/internal', gpu);
app.route('/admin', admin);
