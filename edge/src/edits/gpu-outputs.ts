/**
 * Where the GPU function's output files end up. Ours PUTs them through the edge's upload route
 * (Cog's --upload-url), so its output URLs name objects already in the store; Replicate serves
 * its own file URLs, fetched here under the outbound URL policy; a data URI (a GPU function run
 * without an upload URL) is decoded. Each becomes a key in the store.
 */
import { decodeBase64, parseDataUri } from '@dragflow/shared';
import { fetchLimited } from '../http/fetch-limited.ts';
import type { OutboundUrlPolicy } from '../security/outbound-url.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** Upload route the GPU function PUTs to (`{upload-url}/{filename}`) and the URL path it gets back. */
export const GPU_UPLOADS_PATH = '/internal/gpu-uploads/';
export const GPU_OBJECTS_PATH = '/internal/gpu-objects/';
export const GPU_OBJECT_PREFIX = 'gpu/';

export interface OutputContext {
  readonly store: ObjectStore;
  readonly baseUrl: string;
  readonly editId: string;
  readonly maxBytes: number;
  readonly policy: OutboundUrlPolicy;
}

/** The store key behind a URL the upload route handed out, if it is one. */
export function gpuObjectKey(baseUrl: string, url: string): string | undefined {
  const prefix = `${baseUrl}${GPU_OBJECTS_PATH}`;
  if (!url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length).split('?')[0]!;
  if (!/^[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+$/.test(rest)) return undefined;
  return `${GPU_OBJECT_PREFIX}${rest}`;
}

export async function storeGpuOutput(ctx: OutputContext, url: string, name: string): Promise<string> {
  const uploaded = gpuObjectKey(ctx.baseUrl, url);
  if (uploaded) {
    if (!(await ctx.store.head(uploaded)))
      throw new Error(`GPU output ${name} names ${url}, which was never uploaded`);
    return uploaded;
  }
  const key = `outputs/${ctx.editId}/${name}`;
  const dataUri = parseDataUri(url);
  if (dataUri) {
    const bytes = decodeBase64(dataUri.base64);
    if (bytes.byteLength > ctx.maxBytes) throw new Error(`GPU output ${name} is over ${ctx.maxBytes} bytes`);
    await ctx.store.put(key, bytes, { contentType: dataUri.mediaType, length: bytes.byteLength });
    return key;
  }
  const fetched = await fetchLimited(url, { maxBytes: ctx.maxBytes, timeoutMs: 30_000, policy: ctx.policy });
  await ctx.store.put(key, fetched.bytes, {
    contentType: fetched.contentType ?? 'application/octet-stream',
    length: fetched.bytes.byteLength,
  });
  return key;
}
