/**
 * Reading request bodies under a byte limit: a declared Content-Length over the limit is refused
 * before reading, and a body without one (chunked) is cut off as soon as it passes the limit.
 */
import { HttpError } from './api-error.ts';

/** All bytes of a stream, or undefined as soon as they pass `maxBytes` (the stream is canceled). */
export async function collectBounded(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const reader = stream?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The body, or `code` (413 request_too_large unless told) once it passes `maxBytes`. */
export async function readBody(
  request: Request,
  maxBytes: number,
  what: string,
  code: 'request_too_large' | 'image_too_large' = 'request_too_large',
): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    throw new HttpError(code, `${what} is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const bytes = await collectBounded(request.body, maxBytes);
  if (!bytes) throw new HttpError(code, `${what} is more than ${maxBytes} bytes, the limit`);
  return bytes;
}

/** Reads a JSON body; `invalid_json` (400) with the parser's reason when it is not JSON. */
export async function readJson(
  request: Request,
  maxBytes: number,
  what: string,
): Promise<{ text: string; json: unknown }> {
  const text = new TextDecoder().decode(await readBody(request, maxBytes, what));
  try {
    return { text, json: JSON.parse(text) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError('invalid_json', `request: ${what} is not valid JSON (${reason})`);
  }
}
