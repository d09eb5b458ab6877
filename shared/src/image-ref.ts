/**
 * How a request names an image (the photo to edit, a region mask, an editable mask):
 * exactly one of an upload id, an https URL or a base64 data URI, plus an optional declared
 * content type. Fetching and decoding happen on the servers; this module checks what can be
 * checked from the reference itself.
 */
import { z } from 'zod';
import { httpsUrlSchema, type UrlPolicy } from './https-url.ts';
import {
  IMAGE_FORMATS,
  type ImageFormat,
  type ImageInfo,
  MEDIA_TYPES,
  readImageInfo,
  SIGNATURE_BYTES,
  sniffImageFormat,
} from './image-info.ts';
import { type CheckContext, crossFieldCheck, report } from './issues.ts';
import type { Limits } from './limits.ts';

export const ALLOWED_MEDIA_TYPES = IMAGE_FORMATS.map((format) => MEDIA_TYPES[format]);
const SOURCE_KEYS = ['upload', 'url', 'data'] as const;
const UPLOAD_ID = /^[A-Za-z0-9_-]+$/;
const DATA_URI = /^data:([^;,]*)((?:;[^;,]*)*),/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Bytes decoded to find a JPEG's frame header; EXIF blocks rarely push it further. */
const HEADER_BYTES = 64 * 1024;

/** The format of an allowed media type. Exact lowercase names only, as the JSON Schema enum says. */
export function formatOfMediaType(mediaType: string): ImageFormat | undefined {
  return IMAGE_FORMATS.find((format) => MEDIA_TYPES[format] === mediaType);
}

export interface DataUri {
  readonly mediaType: string;
  readonly base64: string;
}

/** Splits `data:<type>;base64,<payload>`; undefined for anything else (no base64 flag included). */
export function parseDataUri(uri: string): DataUri | undefined {
  const match = DATA_URI.exec(uri);
  if (match === null) return undefined;
  if (!match[2]?.split(';').includes('base64')) return undefined;
  return { mediaType: match[1] ?? '', base64: uri.slice(match[0].length) };
}

/** Decoded size of a base64 payload, from its length and padding alone. */
export function base64ByteLength(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/** Decodes at most the first `maxBytes` (rounded up to a 3-byte group) of a base64 payload. */
export function decodeBase64(base64: string, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  const chars = Number.isFinite(maxBytes) ? Math.ceil(maxBytes / 3) * 4 : base64.length;
  const binary = atob(base64.slice(0, chars));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Format and size of an inline (data URI) image, read from its header; undefined otherwise. */
export function inlineImageInfo(ref: ImageRef): ImageInfo | undefined {
  const dataUri = ref.data === undefined ? undefined : parseDataUri(ref.data);
  if (!dataUri) return undefined;
  return (
    readImageInfo(decodeBase64(dataUri.base64, HEADER_BYTES)) ?? readImageInfo(decodeBase64(dataUri.base64))
  );
}

const SOURCES_TEXT = SOURCE_KEYS.join(', ');

function reportUnsupported(ctx: CheckContext<string>, mediaType: string): void {
  report(
    ctx,
    'unsupported_media_type',
    [],
    `"${mediaType}" is not supported; use one of ${ALLOWED_MEDIA_TYPES.join(', ')}`,
  );
}

/** The image reference schema under the given limits (and URL policy: https only by default). */
export function imageRefSchema(limits: Limits, urlPolicy: UrlPolicy = {}) {
  const maxDataChars = Math.ceil(limits.maxImageBytes / 3) * 4 + 'data:image/jpeg;base64,'.length;
  return z
    .strictObject({
      upload: z
        .string()
        .min(1)
        .max(limits.maxUploadIdLength)
        .check((ctx) => {
          if (!UPLOAD_ID.test(ctx.value))
            report(ctx, 'invalid_value', [], 'must contain only A-Z, a-z, 0-9, _ and -');
        })
        .meta({ description: 'Id returned by the upload endpoint.', pattern: UPLOAD_ID.source })
        .optional(),
      url: httpsUrlSchema(
        limits.maxUrlLength,
        'https URL the service fetches the image from.',
        urlPolicy,
      ).optional(),
      data: z
        .string()
        .check((ctx) => checkDataUri(ctx, limits))
        .meta({
          description: 'Inline image as a base64 data URI, e.g. data:image/png;base64,iVBOR...',
          pattern: '^data:image/(png|jpeg|webp);base64,',
          maxLength: maxDataChars,
        })
        .optional(),
      content_type: z
        .string()
        .check((ctx) => {
          if (!formatOfMediaType(ctx.value)) reportUnsupported(ctx, ctx.value);
        })
        .meta({
          description: 'Media type the caller declares; checked against the bytes.',
          enum: ALLOWED_MEDIA_TYPES,
        })
        .optional(),
    })
    .check(
      crossFieldCheck((ctx) => {
        const given = SOURCE_KEYS.filter((key) => ctx.value[key] !== undefined);
        if (given.length === 0) {
          report(ctx, 'required', [], `needs exactly one of ${SOURCES_TEXT}`);
        } else if (given.length > 1) {
          report(
            ctx,
            'conflicting_fields',
            [given[1]!],
            `cannot be given together with ${given[0]}; use exactly one of ${SOURCES_TEXT}`,
          );
        }
        const declared = ctx.value.content_type;
        const dataUri = ctx.value.data === undefined ? undefined : parseDataUri(ctx.value.data);
        if (declared && dataUri && declared !== dataUri.mediaType) {
          report(
            ctx,
            'media_type_mismatch',
            ['content_type'],
            `declares ${declared} but the data URI says ${dataUri.mediaType}`,
          );
        }
      }),
    )
    .meta({
      title: 'ImageRef',
      description: 'An image: exactly one of upload, url, data.',
      oneOf: SOURCE_KEYS.map((key) => ({ required: [key] })),
    });
}

export type ImageRef = z.infer<ReturnType<typeof imageRefSchema>>;

function checkDataUri(ctx: CheckContext<string>, limits: Limits): void {
  const dataUri = parseDataUri(ctx.value);
  if (!dataUri) {
    report(ctx, 'invalid_value', [], 'must be a base64 data URI such as data:image/png;base64,...');
    return;
  }
  const format = formatOfMediaType(dataUri.mediaType);
  if (!format) {
    reportUnsupported(ctx, dataUri.mediaType);
    return;
  }
  if (!BASE64.test(dataUri.base64) || dataUri.base64.length % 4 !== 0) {
    report(ctx, 'invalid_value', [], 'payload is not valid base64');
    return;
  }
  const bytes = base64ByteLength(dataUri.base64);
  if (bytes > limits.maxImageBytes) {
    report(ctx, 'image_too_large', [], `is ${bytes} bytes; the limit is ${limits.maxImageBytes}`);
    return;
  }
  const sniffed = sniffImageFormat(decodeBase64(dataUri.base64, SIGNATURE_BYTES));
  if (sniffed !== format) {
    const found = sniffed ? MEDIA_TYPES[sniffed] : 'no png, jpeg or webp signature';
    report(ctx, 'media_type_mismatch', [], `declares ${dataUri.mediaType} but the bytes hold ${found}`);
  }
}
