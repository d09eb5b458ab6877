/**
 * https URLs the service fetches from or posts to. Plain http is refused here; the local-dev
 * switch that allows loopback http belongs to the servers, not to the public contract.
 */
import { z } from 'zod';
import { report } from './issues.ts';

export function httpsUrlSchema(maxLength: number, description: string) {
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
      if (url.protocol !== 'https:') {
        report(ctx, 'invalid_url', [], `must use https, not ${url.protocol.slice(0, -1)}`);
      } else if (url.username || url.password) {
        report(ctx, 'invalid_url', [], 'must not embed credentials');
      }
    })
    .meta({ description, format: 'uri', pattern: '^https://' });
}
