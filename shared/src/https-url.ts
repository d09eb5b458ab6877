/**
 * https URLs the service fetches from or posts to. Plain http is refused, except that a server's
 * documented local-development switch may pass `allowLoopbackHttp` to accept http to a loopback
 * host (a local object store or receiver). Whoever connects still checks the address the name
 * resolves to; this is only the syntax.
 */
import { z } from 'zod';
import { report } from './issues.ts';

export interface UrlPolicy {
  /** Local development: also accept `http://` when the host is loopback (localhost, 127.0.0.0/8, [::1]). */
  readonly allowLoopbackHttp?: boolean;
}

/** A host name that names the loopback interface by itself, before any DNS lookup. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Why `url` is refused as a URL to fetch from or post to, or undefined when its form is fine. */
export function httpsUrlProblem(url: URL, policy: UrlPolicy = {}): string | undefined {
  const loopbackHttp = policy.allowLoopbackHttp === true && isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHttp)) {
    return `must use https, not ${url.protocol.slice(0, -1)}`;
  }
  if (url.username || url.password) return 'must not embed credentials';
  return undefined;
}

export function httpsUrlSchema(maxLength: number, description: string, policy: UrlPolicy = {}) {
  return z
    .string()
    .max(maxLength)
    .check((ctx) => {
      let url: URL;
      try {
        url = new URL(ctx.value);
      } catch {
        report(ctx, 'invalid_url', [], 'is not a valid absolute URL');
        return;
      }
      const problem = httpsUrlProblem(url, policy);
      if (problem) report(ctx, 'invalid_url', [], problem);
    })
    .meta({ description, format: 'uri', pattern: '^https://' });
}
