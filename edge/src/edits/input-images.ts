/**
 * The images of an edit request (the photo and any masks), made ready for the GPU function, in
 * two steps. `locateInputImages`: each is located (an upload of this account, an https URL
 * fetched under the outbound policy, or a data URI) and its header read for format and size;
 * problems come back as contract errors at the image's path. `storeInputImages`, once the
 * request passed every check: bytes not yet in the store are put there, so the GPU function gets
 * a signed GET URL for exactly the bytes the edge checked.
 */
import {
  type ContractError,
  contractError,
  decodeBase64,
  type EditRequest,
  formatOfMediaType,
  type ImageInfo,
  type ImageRef,
  type Limits,
  MEDIA_TYPES,
  maskSizeMismatchError,
  type Path,
  parseDataUri,
  readImageInfo,
  requestMasks,
} from '@dragflow/shared';
import { FetchProblem, fetchLimited } from '../http/fetch-limited.ts';
import type { OutboundUrlPolicy } from '../security/outbound-url.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { readAll } from '../storage/object-store.ts';
import { findUpload, markUploadReady, type UploadRecord } from '../uploads/upload-records.ts';

/** Bytes read to find an image's size (a JPEG's frame header may follow large EXIF blocks). */
export const HEADER_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 15_000;

export interface InputImage {
  readonly path: Path;
  readonly key: string;
  readonly info: ImageInfo;
}

/** An image found and measured; `bytes` when it is not in the store yet (data URI or URL). */
export interface LocatedImage {
  readonly path: Path;
  readonly info: ImageInfo;
  readonly key?: string;
  readonly bytes?: Uint8Array;
}

export interface ImageContext {
  readonly db: D1Database;
  readonly store: ObjectStore;
  readonly accountId: string;
  readonly editId: string;
  readonly limits: Limits;
  readonly policy: OutboundUrlPolicy;
}

class InputProblem extends Error {
  constructor(readonly error: ContractError) {
    super(error.message);
  }
}

function problem(code: ContractError['code'], path: Path, reason: string): InputProblem {
  return new InputProblem(contractError(code, path, reason));
}

function infoOrProblem(bytes: Uint8Array, path: Path, declared: string | undefined): ImageInfo {
  const info = readImageInfo(bytes);
  if (!info)
    throw problem('image_unreadable', path, 'is not a png, jpeg or webp image with a readable header');
  if (declared !== undefined && formatOfMediaType(declared) !== info.format) {
    throw problem(
      'media_type_mismatch',
      path,
      `declares ${declared} but the bytes hold ${MEDIA_TYPES[info.format]}`,
    );
  }
  return info;
}

/** An upload's format and size, checking its bytes the first time it is used. */
async function uploadInfo(ctx: ImageContext, upload: UploadRecord, path: Path): Promise<ImageInfo> {
  if (upload.status === 'ready') {
    return { format: formatOfMediaType(upload.content_type)!, width: upload.width!, height: upload.height! };
  }
  const head = await ctx.store.head(upload.object_key);
  if (!head) throw problem('upload_incomplete', path, `upload ${upload.id} has not received its bytes yet`);
  if (head.size > ctx.limits.maxImageBytes) {
    throw problem('image_too_large', path, `is ${head.size} bytes; the limit is ${ctx.limits.maxImageBytes}`);
  }
  const object = await ctx.store.get(upload.object_key, {
    offset: 0,
    length: Math.min(HEADER_BYTES, head.size),
  });
  if (!object) throw problem('upload_incomplete', path, `upload ${upload.id} has not received its bytes yet`);
  const info = infoOrProblem(await readAll(object), path, upload.content_type);
  await markUploadReady(ctx.db, upload.id, head.size, info);
  return info;
}

async function fetchImage(ctx: ImageContext, url: string, path: Path): Promise<Uint8Array> {
  try {
    const fetched = await fetchLimited(url, {
      maxBytes: ctx.limits.maxImageBytes,
      timeoutMs: FETCH_TIMEOUT_MS,
      policy: ctx.policy,
    });
    return fetched.bytes;
  } catch (error) {
    if (!(error instanceof FetchProblem)) throw error;
    const code =
      error.kind === 'address'
        ? 'address_not_allowed'
        : error.kind === 'too_large'
          ? 'image_too_large'
          : 'image_unreadable';
    throw problem(code, path, `URL ${error.message}`);
  }
}

function nameOf(path: Path): string {
  return path.join('-');
}

async function locateOne(ctx: ImageContext, path: Path, ref: ImageRef): Promise<LocatedImage> {
  if (ref.upload !== undefined) {
    const upload = await findUpload(ctx.db, ctx.accountId, ref.upload);
    if (!upload) throw problem('not_found', [...path, 'upload'], `no upload ${ref.upload} in this account`);
    const info = await uploadInfo(ctx, upload, path);
    if (ref.content_type !== undefined && formatOfMediaType(ref.content_type) !== info.format) {
      throw problem(
        'media_type_mismatch',
        [...path, 'content_type'],
        `declares ${ref.content_type} but the upload holds ${MEDIA_TYPES[info.format]}`,
      );
    }
    return { path, key: upload.object_key, info };
  }
  if (ref.data !== undefined) {
    const bytes = decodeBase64(parseDataUri(ref.data)!.base64);
    return { path, info: infoOrProblem(bytes, path, ref.content_type), bytes };
  }
  const bytes = await fetchImage(ctx, ref.url!, [...path, 'url']);
  return { path, info: infoOrProblem(bytes, path, ref.content_type), bytes };
}

export type LocatedImages =
  | { readonly ok: true; readonly image: LocatedImage; readonly all: LocatedImage[] }
  | { readonly ok: false; readonly errors: ContractError[] };

/** Locates and measures every image of the request; masks must match the photo's size. Stores nothing. */
export async function locateInputImages(ctx: ImageContext, request: EditRequest): Promise<LocatedImages> {
  try {
    const image = await locateOne(ctx, ['image'], request.image);
    const all = [image];
    const errors: ContractError[] = [];
    for (const [path, ref] of requestMasks(request)) {
      const mask = await locateOne(ctx, path, ref);
      if (mask.info.width !== image.info.width || mask.info.height !== image.info.height) {
        errors.push(maskSizeMismatchError(path, mask.info, image.info));
      }
      all.push(mask);
    }
    return errors.length === 0 ? { ok: true, image, all } : { ok: false, errors };
  } catch (error) {
    if (error instanceof InputProblem) return { ok: false, errors: [error.error] };
    throw error;
  }
}

/** Puts the bytes of data-URI and URL images in the store under the edit; uploads are there already. */
export async function storeInputImages(
  ctx: ImageContext,
  located: readonly LocatedImage[],
): Promise<InputImage[]> {
  const stored: InputImage[] = [];
  try {
    for (const image of located) {
      if (image.key !== undefined) {
        stored.push({ path: image.path, key: image.key, info: image.info });
        continue;
      }
      const key = `inputs/${ctx.editId}/${nameOf(image.path)}`;
      const bytes = image.bytes!;
      await ctx.store.put(key, bytes, {
        contentType: MEDIA_TYPES[image.info.format],
        length: bytes.byteLength,
      });
      stored.push({ path: image.path, key, info: image.info });
    }
    return stored;
  } catch (error) {
    await discardInputs(ctx.store, ctx.editId, stored);
    throw error;
  }
}

/** Deletes the copies this edit made (uploads stay: they belong to the account). */
export async function discardInputs(
  store: ObjectStore,
  editId: string,
  images: readonly InputImage[],
): Promise<void> {
  const copies = images.filter((image) => image.key.startsWith(`inputs/${editId}/`));
  await Promise.all(copies.map((image) => store.delete(image.key).catch(() => undefined)));
}
