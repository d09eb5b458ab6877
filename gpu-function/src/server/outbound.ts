/**
 * Every request the server sends out (image fetches, webhooks, output uploads, bundle downloads)
 * goes through here: https only (http to loopback with the local-dev switch), the address policy
 * applied to the address actually connected to, a deadline for the whole exchange and an idle
 * limit, a byte limit on what comes back, redirects returned rather than followed (a redirect
 * could lead anywhere), and a fresh connection each time (nothing pooled outlives a request).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { httpsUrlProblem } from '@dragflow/shared/https-url';
import { AddressNotAllowed, assertAddressAllowed, guardedLookup } from './address-policy.ts';

export type OutboundFailure = 'url' | 'address_not_allowed' | 'timeout' | 'too_large' | 'network' | 'aborted';

export class OutboundError extends Error {
  override readonly name = 'OutboundError';

  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** The local-development switch: loopback addresses (and http to them) allowed. */
  allowLoopback: boolean;
  /** Deadline for the whole exchange, body included. */
  timeoutMs?: number;
  /** Longest silence on the connection (for long downloads, where a total deadline does not fit). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface OutboundStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The answer's body; it fails with an OutboundError when the deadline passes while it streams. */
  body: IncomingMessage;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/** The URL without query and fragment: what may be logged (query strings carry signatures). */
export function redactUrl(url: URL | string): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  return `${parsed.origin}${parsed.pathname}`;
}

function asOutboundError(error: unknown, signal: AbortSignal | undefined): OutboundError {
  if (error instanceof OutboundError) return error;
  if (error instanceof AddressNotAllowed) return new OutboundError('address_not_allowed', error.message);
  if (signal?.aborted) return new OutboundError('aborted', 'the request was aborted');
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code ?? (error as Error).message;
  return new OutboundError('network', `could not be reached (${reason})`);
}

/** Checks the URL's form and, for an IP literal, its address (names are checked at lookup). */
function checkTarget(url: URL, allowLoopback: boolean): void {
  const problem = httpsUrlProblem(url, { allowLoopbackHttp: allowLoopback });
  if (problem) throw new OutboundError('url', problem);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) {
    try {
      assertAddressAllowed(host, host, allowLoopback);
    } catch (error) {
      throw asOutboundError(error, undefined);
    }
  }
}

/** Sends the request and resolves with the status, headers and the body as a stream. */
export function openOutbound(request: OutboundRequest): Promise<OutboundStream> {
  const { url, allowLoopback, signal } = request;
  checkTarget(url, allowLoopback);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: request.method,
      headers: request.headers,
      lookup: guardedLookup(allowLoopback),
      agent: false,
      ...(signal ? { signal } : {}),
    });
    let deadline: NodeJS.Timeout | undefined;
    const finish = () => clearTimeout(deadline);
    if (request.timeoutMs !== undefined) {
      const seconds = request.timeoutMs / 1000;
      deadline = setTimeout(
        () => req.destroy(new OutboundError('timeout', `did not answer within ${seconds} s`)),
        request.timeoutMs,
      );
    }
    if (request.idleTimeoutMs !== undefined) {
      const seconds = request.idleTimeoutMs / 1000;
      req.setTimeout(request.idleTimeoutMs, () =>
        req.destroy(new OutboundError('timeout', `sent nothing for ${seconds} s`)),
      );
    }
    req.on('error', (error) => {
      finish();
      reject(asOutboundError(error, signal));
    });
    req.on('response', (res) => {
      res.on('close', finish);
      // Errors while the body streams (deadline, reset) reach whoever reads the body, as OutboundErrors.
      res.on('error', () => {});
      const forward = (error: Error) => res.destroy(asOutboundError(error, signal));
      req.on('error', forward);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.end(request.body);
  });
}

/** Sends the request and reads the whole answer, refusing more than `maxBytes` of body. */
export async function sendOutbound(
  request: OutboundRequest & { maxBytes: number },
): Promise<OutboundResponse> {
  const { status, headers, body } = await openOutbound(request);
  const declared = Number(headers['content-length']);
  const tooLarge = (bytes: number | string) =>
    new OutboundError('too_large', `answers ${bytes} bytes; the limit is ${request.maxBytes}`);
  if (Number.isFinite(declared) && declared > request.maxBytes) {
    body.destroy();
    throw tooLarge(declared);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > request.maxBytes) {
        body.destroy();
        throw tooLarge(`more than ${request.maxBytes}`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw asOutboundError(error, request.signal);
  }
  const bytes = Buffer.concat(chunks);
  return { status, headers, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
}
