/**
 * Reads the images an edit request names, for the pipeline (its LoadImageBytes): data URIs inline,
 * https URLs fetched under the contract's byte limit, the fetch time limit and the address policy,
 * and the bytes sniffed: only PNG, JPEG or WebP, and the type the request declares if it declares
 * one. Upload ids are the edge's to resolve; the GPU function takes URLs and data URIs.
 * Failures are the contract's errors at the reference's path (`image.url`, `operations[0]...`).
 */
import { formatPath, type Path } from '@dragflow/shared/errors';
import { MEDIA_TYPES, SIGNATURE_BYTES, sniffImageFormat } from '@dragflow/shared/image-info';
import { formatOfMediaType, type ImageRef } from '@dragflow/shared/image-ref';
import { type Limits, resolveLimits } from '@dragflow/shared/limits';
import type { LoadImageBytes } from '../dragflow/request-operations.ts';
import { EditCanceled, rejection } from '../pipeline/errors.ts';
import { inlineImageLoader } from '../pipeline/prepare.ts';
import { OutboundError, redactUrl, sendOutbound } from './outbound.ts';

export interface FetcherOptions {
  limits?: Partial<Limits>;
  allowLoopback: boolean;
  timeoutMs: number;
  /** The prediction's cancellation: an abort stops a fetch in flight. */
  signal: AbortSignal;
  log: (line: string) => void;
}

const FAILURE_CODES = {
  url: 'invalid_url',
  address_not_allowed: 'address_not_allowed',
  timeout: 'fetch_timeout',
  too_large: 'image_too_large',
  network: 'image_unreadable',
} as const;

async function fetchImage(ref: ImageRef & { url: string }, path: Path, options: FetcherOptions) {
  const { maxImageBytes } = resolveLimits(options.limits);
  const urlPath = [...path, 'url'];
  const url = new URL(ref.url);
  let response: Awaited<ReturnType<typeof sendOutbound>>;
  try {
    response = await sendOutbound({
      method: 'GET',
      url,
      headers: { accept: Object.values(MEDIA_TYPES).join(', ') },
      allowLoopback: options.allowLoopback,
      timeoutMs: options.timeoutMs,
      maxBytes: maxImageBytes,
      signal: options.signal,
    });
  } catch (error) {
    if (!(error instanceof OutboundError)) throw error;
    if (error.kind === 'aborted') throw new EditCanceled(0);
    throw rejection(FAILURE_CODES[error.kind], urlPath, error.message);
  }
  if (response.status < 200 || response.status > 299) {
    throw rejection(
      'image_unreadable',
      urlPath,
      `answered HTTP ${response.status} (redirects are not followed)`,
    );
  }
  const sniffed = sniffImageFormat(response.body.subarray(0, SIGNATURE_BYTES));
  if (!sniffed) {
    throw rejection(
      'unsupported_media_type',
      urlPath,
      `delivered ${response.body.length} bytes that are not a PNG, JPEG or WebP image`,
    );
  }
  const declared = ref.content_type === undefined ? undefined : formatOfMediaType(ref.content_type);
  if (declared !== undefined && declared !== sniffed) {
    throw rejection(
      'media_type_mismatch',
      [...path, 'content_type'],
      `declares ${ref.content_type} but the URL delivered ${MEDIA_TYPES[sniffed]}`,
    );
  }
  options.log(
    `fetched ${formatPath(path)}: ${response.body.length} bytes ${MEDIA_TYPES[sniffed]} from ${redactUrl(url)}`,
  );
  return response.body;
}

export function imageFetcher(options: FetcherOptions): LoadImageBytes {
  const inline = inlineImageLoader(options.limits);
  return async (ref, path) => {
    if (options.signal.aborted) throw new EditCanceled(0);
    if (ref.url !== undefined) return fetchImage({ ...ref, url: ref.url }, path, options);
    if (ref.upload !== undefined) {
      throw rejection(
        'image_unreadable',
        [...path, 'upload'],
        'upload ids are resolved by the edge; send the GPU function a url or a data URI',
      );
    }
    return inline(ref, path);
  };
}
