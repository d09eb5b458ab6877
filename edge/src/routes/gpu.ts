/**
 * Routes the GPU function talks to. `PUT /internal/gpu-uploads/{token}/{filename}` is the Cog
 * upload URL (`--upload-url {base}/internal/gpu-uploads/{GPU_UPLOAD_TOKEN}`): output files land in
 * the store and the answer's Location names them. `POST /internal/callbacks/{cog|replicate}/
 * {edit}/{attempt}?secret=` receives prediction updates: the per-attempt secret must match, Cog's
 * bearer token too when configured, and Replicate's Standard Webhooks signature is verified (5
 * minute window) before the body is read; a replayed callback is refused with 409.
 */
import { DEFAULT_LIMITS } from '@dragflow/shared';
import { type Context, Hono } from 'hono';
import { randomToken, sha256Hex, timingSafeEqualText } from '../crypto.ts';
import { readPredictionReport } from '../dispatch/gpu-report.ts';
import { MAX_ATTEMPTS } from '../edits/edit-object.ts';
import { editStub } from '../edits/edit-stub.ts';
import { GPU_OBJECT_PREFIX, GPU_OBJECTS_PATH } from '../edits/gpu-outputs.ts';
import { HttpError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readBody } from '../http/body.ts';
import { allowOnly } from '../http/methods.ts';
import { storeFor } from '../storage/index.ts';
import { verifySigned } from '../webhooks/signature.ts';

/** A callback body: a prediction object, whose outputs are URLs (data URIs only without an upload URL). */
export const MAX_CALLBACK_BYTES = 32 * 1024 * 1024;
const FILENAME = /^[A-Za-z0-9._-]{1,128}$/;
const OUTPUT_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'application/json'];

const gpu = new Hono<AppEnv>();

gpu.put('/gpu-uploads/:token/:filename', async (c) => {
  const { config, baseUrl } = c.var;
  if (!config.gpuUploadToken)
    throw new HttpError('not_found', 'GPU uploads are not configured (GPU_UPLOAD_TOKEN)');
  if (!timingSafeEqualText(c.req.param('token'), config.gpuUploadToken)) {
    throw new HttpError('unauthorized', 'upload token does not match');
  }
  const filename = c.req.param('filename');
  if (!FILENAME.test(filename))
    throw new HttpError('invalid_value', 'filename: must be 1-128 of A-Z a-z 0-9 . _ -');
  const contentType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!OUTPUT_TYPES.includes(contentType)) {
    throw new HttpError(
      'unsupported_media_type',
      `Content-Type ${contentType || '(none)'} is not an output type (${OUTPUT_TYPES.join(', ')})`,
    );
  }
  const bytes = await readBody(c.req.raw, DEFAULT_LIMITS.maxImageBytes, 'the output file', 'image_too_large');
  const folder = randomToken(12);
  await storeFor(c.env, config, baseUrl).put(`${GPU_OBJECT_PREFIX}${folder}/${filename}`, bytes, {
    contentType,
    length: bytes.byteLength,
  });
  return c.body(null, 201, { location: `${baseUrl}${GPU_OBJECTS_PATH}${folder}/${filename}` });
});
allowOnly(gpu, '/gpu-uploads/:token/:filename', ['PUT']);

function attemptOf(text: string): number {
  const attempt = Number(text);
  if (!Number.isSafeInteger(attempt) || attempt < 1 || attempt > MAX_ATTEMPTS) {
    throw new HttpError('not_found', `no attempt ${text}`);
  }
  return attempt;
}

async function applyCallback(c: Context<AppEnv>, body: string, callbackId: string): Promise<Response> {
  const attempt = attemptOf(c.req.param('attempt')!);
  const secret = c.req.query('secret') ?? '';
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new HttpError('invalid_json', 'request: callback body is not JSON');
  }
  const read = readPredictionReport(json);
  if (!read.ok) throw new HttpError('invalid_value', `callback body is not a prediction: ${read.message}`);
  const outcome = await editStub(c.env, c.req.param('id')!).gpuReport(
    attempt,
    secret,
    read.predictionId,
    read.report,
    callbackId,
  );
  switch (outcome.kind) {
    case 'applied':
    case 'ignored':
      return c.json({ outcome: outcome.kind, detail: outcome.detail });
    case 'unknown':
      throw new HttpError('not_found', `no edit ${c.req.param('id')}`);
    case 'rejected':
      throw new HttpError('callback_rejected', outcome.detail);
    case 'replayed':
      throw new HttpError('callback_replayed', outcome.detail);
  }
}

gpu.post('/callbacks/cog/:id/:attempt', async (c) => {
  const token = c.var.config.cog?.webhookToken;
  if (token !== undefined && !timingSafeEqualText(c.req.header('authorization') ?? '', `Bearer ${token}`)) {
    throw new HttpError('callback_rejected', 'Authorization bearer token does not match COG_WEBHOOK_TOKEN');
  }
  const body = new TextDecoder().decode(await readBody(c.req.raw, MAX_CALLBACK_BYTES, 'callback body'));
  // Cog's webhooks carry no id: the same body twice is the same callback.
  return applyCallback(c, body, `sha256:${await sha256Hex(body)}`);
});
allowOnly(gpu, '/callbacks/cog/:id/:attempt', ['POST']);

gpu.post('/callbacks/replicate/:id/:attempt', async (c) => {
  const replicate = c.var.config.replicate;
  if (!replicate) throw new HttpError('not_found', 'Replicate dispatch is not configured');
  const body = new TextDecoder().decode(await readBody(c.req.raw, MAX_CALLBACK_BYTES, 'callback body'));
  const verified = await verifySigned(replicate.webhookSecret, c.req.raw.headers, body);
  if (!verified.ok) {
    if (verified.problem === 'stale_timestamp') {
      throw new HttpError('callback_replayed', 'webhook-timestamp is more than 5 minutes away from now');
    }
    throw new HttpError(
      'callback_rejected',
      `Replicate webhook signature check failed (${verified.problem})`,
    );
  }
  return applyCallback(c, body, `webhook-id:${verified.id}`);
});
allowOnly(gpu, '/callbacks/replicate/:id/:attempt', ['POST']);

export { gpu };
