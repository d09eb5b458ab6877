/**
 * Fetching bytes from a URL someone else named (an image URL, a GPU function's output): every
 * hop of a redirect is checked against the outbound URL policy, the body is read up to a byte
 * limit, and the whole fetch has a time limit. Failures say what went wrong, in words.
 */
import { type OutboundUrlPolicy, outboundUrlProblem } from '../security/outbound-url.ts';
import { collectBounded } from './body.ts';

const MAX_REDIRECTS = 3;

export class FetchProblem extends Error {
  constructor(
    message: string,
    readonly kind: 'address' | 'too_large' | 'unreachable',
  ) {
    super(message);
  }
}

export interface FetchLimits {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly policy: OutboundUrlPolicy;
}

async function readBounded(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchProblem(`is ${declared} bytes; the limit is ${maxBytes}`, 'too_large');
  }
  const bytes = await collectBounded(response.body, maxBytes);
  if (!bytes) throw new FetchProblem(`is more than ${maxBytes} bytes, the limit`, 'too_large');
  return bytes;
}

export interface Fetched {
  readonly bytes: Uint8Array;
  readonly contentType: string | undefined;
}

export async function fetchLimited(url: string, limits: FetchLimits): Promise<Fetched> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let current = url;
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const problem = outboundUrlProblem(current, limits.policy);
      if (problem)
        throw new FetchProblem(hop === 0 ? problem : `redirects to a URL that ${problem}`, 'address');
      const response = await fetch(current, { redirect: 'manual', signal });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        current = new URL(location, current).toString();
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new FetchProblem(`answered HTTP ${response.status}`, 'unreachable');
      }
      return {
        bytes: await readBounded(response, limits.maxBytes),
        contentType: response.headers.get('content-type') ?? undefined,
      };
    }
    throw new FetchProblem(`redirects more than ${MAX_REDIRECTS} times`, 'unreachable');
  } catch (error) {
    if (error instanceof FetchProblem) throw error;
    if (signal.aborted)
      throw new FetchProblem(`did not answer within ${limits.timeoutMs / 1000} s`, 'unreachable');
    throw new FetchProblem(
      `could not be fetched (${error instanceof Error ? error.message : String(error)})`,
      'unreachable',
    );
  }
}
