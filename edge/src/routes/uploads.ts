/**
 * /v1/uploads: an image sent as the body (up to the contract's byte limit), or, for a JSON body
 * naming the content type, a signed PUT URL the client sends the bytes to directly. Either way
 * the result is an upload id to use as `{"upload": id}` in an edit.
 */
import { DEFAULT_LIMITS, formatOfMediaType, MEDIA_TYPES, readImageInfo, validate } from '@dragflow/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import { newId } from '../crypto.ts';
import { HttpError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readBody, readJson } from '../http/body.ts';
import { allowOnly } from '../http/methods.ts';
import { storeFor } from '../storage/index.ts';
import { findUpload, insertUpload, type UploadRecord } from '../uploads/upload-records.ts';

/** Seconds a signed upload URL stays valid. */
export const UPLOAD_URL_TTL_S = 3600;

const PresignRequestSchema = z.strictObject({
  content_type: z.enum(Object.values(MEDIA_TYPES) as [string, ...string[]]),
});

function uploadJson(record: UploadRecord, extra: Record<string, unknown> = {}) {
  return {
    id: record.id,
    status: record.status,
    content_type: record.content_type,
    bytes: record.bytes,
    width: record.width,
    height: record.height,
    created_at: record.created_at,
    ...extra,
  };
}

const uploads = new Hono<AppEnv>();

uploads.post('/', async (c) => {
  const { caller, config, baseUrl } = c.var;
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const store = storeFor(c.env, config, baseUrl);
  const id = newId('up');
  const key = `uploads/${caller.accountId}/${id}`;
  const createdAt = new Date().toISOString();
  const format = formatOfMediaType(mediaType);
  if (format) {
    const bytes = await readBody(c.req.raw, DEFAULT_LIMITS.maxImageBytes, 'the image', 'image_too_large');
    const info = readImageInfo(bytes);
    if (!info)
      throw new HttpError(
        'image_unreadable',
        'body: is not a png, jpeg or webp image with a readable header',
      );
    if (info.format !== format) {
      throw new HttpError(
        'media_type_mismatch',
        `body: Content-Type says ${mediaType} but the bytes hold ${MEDIA_TYPES[info.format]}`,
      );
    }
    await store.put(key, bytes, { contentType: mediaType, length: bytes.byteLength });
    const record: UploadRecord = {
      id,
      account_id: caller.accountId,
      object_key: key,
      status: 'ready',
      content_type: mediaType,
      bytes: bytes.byteLength,
      width: info.width,
      height: info.height,
      created_at: createdAt,
    };
    await insertUpload(c.env.DB, record);
    return c.json(uploadJson(record), 201);
  }
  if (mediaType === 'application/json') {
    const { json } = await readJson(c.req.raw, 4096, 'upload request body');
    const parsed = validate(PresignRequestSchema, json);
    if (!parsed.ok) throw HttpError.fromContract(parsed.errors);
    const record: UploadRecord = {
      id,
      account_id: caller.accountId,
      object_key: key,
      status: 'pending',
      content_type: parsed.value.content_type,
      bytes: null,
      width: null,
      height: null,
      created_at: createdAt,
    };
    const uploadUrl = await store.signedPutUrl(key, UPLOAD_URL_TTL_S);
    await insertUpload(c.env.DB, record);
    return c.json(
      uploadJson(record, {
        upload_url: uploadUrl,
        upload_method: 'PUT',
        upload_headers: { 'content-type': record.content_type },
        max_bytes: DEFAULT_LIMITS.maxImageBytes,
        expires_at: new Date(Date.now() + UPLOAD_URL_TTL_S * 1000).toISOString(),
      }),
      201,
    );
  }
  throw new HttpError(
    'unsupported_media_type',
    `Content-Type ${mediaType || '(none)'} is not accepted; send image/png, image/jpeg or image/webp bytes, or application/json {"content_type": ...} for a signed upload URL`,
  );
});
allowOnly(uploads, '/', ['POST']);

uploads.get('/:id', async (c) => {
  const record = await findUpload(c.env.DB, c.var.caller.accountId, c.req.param('id'));
  if (!record) throw new HttpError('not_found', `no upload ${c.req.param('id')} in this account`);
  return c.json(uploadJson(record));
});
allowOnly(uploads, '/:id', ['GET']);

export { uploads };
