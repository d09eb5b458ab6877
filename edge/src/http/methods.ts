/** 405 with an Allow header for a known path asked with a method it does not take. */
import type { Hono } from 'hono';
import { HttpError } from './api-error.ts';
import type { AppEnv } from './app-env.ts';

/** Registers, after a path's handlers, the catch-all that refuses every other method. */
export function allowOnly(app: Hono<AppEnv>, path: string, methods: readonly string[]): void {
  const allow = methods.includes('GET') ? [...methods, 'HEAD'] : [...methods];
  app.all(path, (c) => {
    throw new HttpError(
      'method_not_allowed',
      `${c.req.method} is not allowed here; use ${methods.join(' or ')}`,
      undefined,
      {
        allow: allow.join(', '),
      },
    );
  });
}
