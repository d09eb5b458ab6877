import type { D1Migration } from 'cloudflare:test';
import type { Env as EdgeEnv } from '../src/config.ts';

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../src/index.ts');
    }
    interface Env extends EdgeEnv {
      readonly TEST_MIGRATIONS: D1Migration[];
    }
  }
}
