/**
 * https URLs the service fetches from or posts to. Plain http is refused, unless a server turns
 * on its documented local-development switch (`UrlPolicy.loopbackHttp`), which admits http to
 * loopback hosts only; the public contract (and its JSON Schema) always says https.
 */
import { z } from 'zod';
import { report } from './issues.ts';

export interface UrlPolicy {
  /** Local development: also accept http://localhost, http://127.x.x.x and http://[::1]. */
  readonly loopbackHttp: boolean;
}

export const PUBLIC_URL_POLICY: UrlPolicy = Object.freeze({ loopbackHttp: false });

/** Whether a URL's host is a loopback name or address (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
  );
}

export function httpsUrlSchema(
  maxLength: number,
  description: string,
  policy: UrlPolicy = PUBLIC_URL_POLICY,
) {
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
      const loopbackHttp = policy.loopbackHttp && url.protocol === 'http:' && isLoopbackHost(url.hostname);
      if (url.protocol !== 'https:' && !loopbackHttp) {
        report(ctx, 'invalid_url', [], `must use https, not ${url.protocol.slice(0, -1)}`);
      } else if (url.username || url.password) {
        report(ctx, 'invalid_url', [], 'must not embed credentials');
      }
    })
    .meta({ description, format: 'uri', pattern: '^https://' });
}
