import type { D1Migration } from 'cloudflare:test';
import type { Env as EdgeEnv } from '../src/config.ts';

declare global {
  namespace Cloudflare {
    interface Env extends EdgeEnv {
      readonly TEST_MIGRATIONS: D1Migration[];
    }
  }
}

declare module 'vitest' {
  interface ProvidedContext {
    fakeCogUrl: string;
    receiverUrl: string;
  }
}
