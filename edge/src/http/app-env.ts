/** The Hono environment of the edge: bindings plus what middleware puts on each request. */
import type { Caller } from '../auth/api-keys.ts';
import type { Config, Env } from '../config.ts';

export interface AppVariables {
  requestId: string;
  config: Config;
  /** Where this edge is reached (PUBLIC_URL, else the request's origin). */
  baseUrl: string;
  caller: Caller;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
