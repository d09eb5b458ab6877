/**
 * Where output files go, as Cog does it: with an upload URL, each file is sent with
 * `PUT {upload_url}/{filename}` and its Content-Type, and the URL of the stored file is the
 * answer's Location header (resolved against the request URL; the request URL itself when there is
 * none), with its query string stripped (presigned signatures are not the caller's to see).
 * Without an upload URL a file becomes a data URI. The server holds no storage credentials: the
 * upload endpoint (the edge's upload route, a presigning proxy) owns them.
 */
import { OutboundError, redactUrl, sendOutbound } from './outbound.ts';

/** Time allowed for one upload (Cog allows 25 s). */
export const UPLOAD_TIMEOUT_MS = 60_000;
/** Bytes read from an upload's answer (only its headers matter). */
const UPLOAD_ANSWER_BYTES = 64 * 1024;

export class UploadFailed extends Error {
  override readonly name = 'UploadFailed';
  readonly code = 'upload_failed';
}

export interface OutputStore {
  /** Stores a file; resolves with the URL (or data URI) the output holds. */
  store(filename: string, bytes: Uint8Array, contentType: string): Promise<string>;
}

export function dataUriStore(): OutputStore {
  return {
    store: async (_filename, bytes, contentType) =>
      `data:${contentType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')}`,
  };
}

export function uploadStore(uploadUrl: string, allowLoopback: boolean): OutputStore {
  const base = uploadUrl.endsWith('/') ? uploadUrl : `${uploadUrl}/`;
  return {
    async store(filename, bytes, contentType) {
      const url = new URL(encodeURIComponent(filename), base);
      let status: number;
      let location: string | string[] | undefined;
      try {
        const answer = await sendOutbound({
          method: 'PUT',
          url,
          headers: { 'content-type': contentType, 'content-length': String(bytes.length) },
          body: bytes,
          allowLoopback,
          timeoutMs: UPLOAD_TIMEOUT_MS,
          maxBytes: UPLOAD_ANSWER_BYTES,
        });
        status = answer.status;
        location = answer.headers.location;
      } catch (error) {
        if (!(error instanceof OutboundError)) throw error;
        throw new UploadFailed(`${filename}: PUT ${redactUrl(url)} failed: ${error.message}`);
      }
      if (status < 200 || status > 299) {
        throw new UploadFailed(`${filename}: PUT ${redactUrl(url)} answered HTTP ${status}`);
      }
      const stored = new URL(typeof location === 'string' ? location : url.href, url);
      stored.search = '';
      stored.hash = '';
      return stored.href;
    },
  };
}
