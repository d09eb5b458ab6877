/**
 * /files/{key}: the edge's own signed URLs for the R2 store (file-urls.ts). GET streams an
 * object; PUT stores an upload's bytes (only keys under uploads/, up to the image byte limit).
 * With the S3 store, signed URLs point at S3 and this route does not exist.
 */
import { DEFAULT_LIMITS } from '@dragflow/shared';
import { type Context, Hono } from 'hono';
import { HttpError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readBody } from '../http/body.ts';
import { allowOnly } from '../http/methods.ts';
import { checkFileUrl } from '../storage/file-urls.ts';
import { storeFor } from '../storage/index.ts';

const files = new Hono<AppEnv>();

async function authorisedKey(c: Context<AppEnv>, method: 'GET' | 'PUT'): Promise<string> {
  if (c.var.config.storage !== 'r2') throw new HttpError('not_found', 'no such file route with this store');
  const path = new URL(c.req.url).pathname.slice('/files/'.length);
  const key = path.split('/').map(decodeURIComponent).join('/');
  const problem = await checkFileUrl(c.var.config.signingSecret, method, key, {
    expires: c.req.query('expires'),
    signature: c.req.query('signature'),
  });
  if (problem === 'expired') throw new HttpError('unauthorized', 'this signed URL has expired');
  if (problem) throw new HttpError('unauthorized', 'this URL is not signed for this file and method');
  return key;
}

files.get('/*', async (c) => {
  const key = await authorisedKey(c, 'GET');
  const object = await storeFor(c.env, c.var.config, c.var.baseUrl).get(key);
  if (!object) throw new HttpError('not_found', 'the file no longer exists');
  return new Response(object.body, {
    headers: {
      'content-type': object.contentType ?? 'application/octet-stream',
      'content-length': String(object.size),
      'x-request-id': c.var.requestId,
    },
  });
});

files.put('/*', async (c) => {
  const key = await authorisedKey(c, 'PUT');
  if (!key.startsWith('uploads/'))
    throw new HttpError('unauthorized', 'only uploads can be written through a signed URL');
  const bytes = await readBody(c.req.raw, DEFAULT_LIMITS.maxImageBytes, 'the image', 'image_too_large');
  const contentType = c.req.header('content-type') ?? 'application/octet-stream';
  await storeFor(c.env, c.var.config, c.var.baseUrl).put(key, bytes, {
    contentType,
    length: bytes.byteLength,
  });
  return c.body(null, 200);
});
allowOnly(files, '/*', ['GET', 'PUT']);

export { files };
