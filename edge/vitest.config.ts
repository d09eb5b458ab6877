/**
 * Edge tests run inside workerd (@cloudflare/vitest-plugin) with the bindings of wrangler.toml,
 * D1 migrated before each file, and the test settings below. Two projects: `edge` with the local
 * development switch on (loopback URLs allowed, as the local servers of the tests need), and
 * `edge-production` (*.production.test.ts) with production's URL policy. Node-side helpers (a
 * fake Cog server and a webhook receiver, both labelled fakes) start in globalSetup and reach the
 * tests through `inject`.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const edge = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

function project(
  name: string,
  include: string[],
  exclude: string[],
  allowLoopback: boolean,
): TestProjectInlineConfiguration {
  return {
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
            ALLOW_LOOPBACK_URLS: allowLoopback ? '1' : '0',
            // Delivery retries a second apart in tests.
            WEBHOOK_RETRY_SCHEDULE_S: '1,1,1,1,1',
            PROGRESS_WEBHOOK_INTERVAL_S: '1',
          },
        },
      })),
    ],
    test: {
      name,
      include,
      exclude,
      setupFiles: ['test/support/apply-migrations.ts'],
      globalSetup: ['test/node/global-setup.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
}

export const edgeProjects = [
  project('edge', ['test/**/*.test.ts'], ['test/**/*.production.test.ts'], true),
  project('edge-production', ['test/**/*.production.test.ts'], [], false),
];

export default defineConfig({ test: { projects: edgeProjects } });
