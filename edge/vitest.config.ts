/**
 * Edge tests run inside workerd (@cloudflare/vitest-plugin) with the bindings of wrangler.toml,
 * D1 migrated before each file, and the test settings below. Node-side helpers (a fake Cog
 * server and a webhook receiver, both labelled fakes; the real servers in the end-to-end suite)
 * start in globalSetup and reach the tests through `inject`.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const edge = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: edge,
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: `${root}wrangler.toml` },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(`${edge}migrations`),
          PUBLIC_URL: 'http://edge.test',
          SIGNING_SECRET: 'test-signing-secret-0123456789abcdef',
          ADMIN_TOKEN: 'test-admin-token',
          GPU_UPLOAD_TOKEN: 'test-gpu-upload-token',
          COG_URL: inject<string>('fakeCogUrl'),
          ALLOW_LOOPBACK_URLS: '1',
          // Delivery retries a few seconds apart in tests (alarms are also run by hand).
          WEBHOOK_RETRY_SCHEDULE_S: '1,1,1,1,1',
          PROGRESS_WEBHOOK_INTERVAL_S: '1',
        },
      },
    })),
  ],
  test: {
    name: 'edge',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/apply-migrations.ts'],
    globalSetup: ['test/node/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
