/**
 * Edge tests run inside workerd (@cloudflare/vitest-plugin) with the bindings of wrangler.toml,
 * D1 migrated before each file, and the test settings below. Two projects: `edge` with the local
 * development switch on (loopback URLs allowed, as the local servers of the tests need), and
 * `edge-production` (*.production.test.ts) with production's URL policy, and `edge-s3`
 * (*.s3.test.ts) with the S3 store on a real S3-compatible server. Node-side helpers (a
 * fake Cog server and a webhook receiver, both labelled fakes) start in globalSetup and reach the
 * tests through `inject`.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { FAKE_REPLICATE_SECRET, FAKE_REPLICATE_TOKEN } from './test/node/replicate-setup.ts';

const edge = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

interface ProjectOptions {
  readonly include: string[];
  readonly exclude?: string[];
  readonly allowLoopback: boolean;
  /** Node-side servers to start first (the fake Cog server and receiver are always there). */
  readonly globalSetup?: string[];
  readonly bindings?: (inject: <T>(key: string) => T) => Record<string, string>;
  /** Per-test limit (a hang detector): 30 s unless given. */
  readonly testTimeoutMs?: number;
}

function project(name: string, options: ProjectOptions): TestProjectInlineConfiguration {
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
            ALLOW_LOOPBACK_URLS: options.allowLoopback ? '1' : '0',
            // Delivery retries a second apart in tests.
            WEBHOOK_RETRY_SCHEDULE_S: '1,1,1,1,1',
            PROGRESS_WEBHOOK_INTERVAL_S: '1',
            ...options.bindings?.(inject as <T>(key: string) => T),
          },
        },
      })),
    ],
    test: {
      name,
      include: options.include,
      exclude: options.exclude ?? [],
      setupFiles: ['test/support/apply-migrations.ts'],
      globalSetup: ['test/node/global-setup.ts', ...(options.globalSetup ?? [])],
      testTimeout: options.testTimeoutMs ?? 30_000,
      // After the Node suites (root vitest.config.ts), all edge projects in one group.
      sequence: { groupOrder: 1 },
      hookTimeout: 60_000,
    },
  };
}

export const edgeProjects = [
  project('edge', {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/**/*.production.test.ts',
      'test/**/*.s3.test.ts',
      'test/**/*.replicate.test.ts',
      'test/**/*.e2e.test.ts',
    ],
    allowLoopback: true,
  }),
  project('edge-production', { include: ['test/**/*.production.test.ts'], allowLoopback: false }),
  // Dispatch through the replicate client to a labelled fake of Replicate's HTTP API.
  project('edge-replicate', {
    include: ['test/**/*.replicate.test.ts'],
    allowLoopback: true,
    globalSetup: ['test/node/replicate-setup.ts'],
    bindings: (inject) => ({
      DISPATCH: 'replicate',
      REPLICATE_API_TOKEN: FAKE_REPLICATE_TOKEN,
      REPLICATE_BASE_URL: `${inject<string>('fakeReplicateUrl')}/v1`,
      REPLICATE_MODEL: 'dragflow/dragflow-edit',
      REPLICATE_WEBHOOK_SECRET: FAKE_REPLICATE_SECRET,
    }),
  }),
  // The S3 store against a real S3-compatible server (Ceph radosgw on loopback, infra/s3).
  project('edge-s3', {
    include: ['test/**/*.s3.test.ts'],
    allowLoopback: true,
    globalSetup: ['test/node/s3-setup.ts'],
    bindings: (inject) => {
      const s3 = inject<{
        endpoint: string;
        region: string;
        bucket: string;
        accessKeyId: string;
        secretAccessKey: string;
      }>('s3');
      return {
        STORAGE: 's3',
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: s3.region,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      };
    },
  }),
  // The whole service on loopback: real radosgw, the real GPU function (demo bundle), the edge under
  // wrangler dev; the tests inside workerd drive it over HTTP.
  project('edge-e2e', {
    include: ['test/**/*.e2e.test.ts'],
    allowLoopback: true,
    globalSetup: ['test/node/e2e-setup.ts'],
    testTimeoutMs: 600_000,
  }),
];

export default defineConfig({ test: { projects: edgeProjects } });
