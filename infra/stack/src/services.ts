/**
 * What the local stack runs, as commands: the GPU function (`dragflow serve`), the edge's D1
 * migrations and the edge under `wrangler dev`. Both servers listen on 127.0.0.1 only, and each
 * is told the other's URL and the shared secrets (local-secrets.ts).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { LocalSecrets } from './local-secrets.ts';
import type { ServiceSpec } from './service.ts';
import type { StackSettings } from './settings.ts';

export const HOST = '127.0.0.1';

/** Settings of the edge's S3 store, passed through from the environment when STORAGE=s3. */
export const S3_VARIABLES = [
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_BUCKET',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
] as const;

/** `dragflow serve` settings naming a model bundle; with one of them set, the stack serves it instead of the demo. */
const BUNDLE_VARIABLES = ['DRAGFLOW_BUNDLE', 'DRAGFLOW_BUNDLE_URL'];

export interface StackLayout {
  readonly repoRoot: string;
  readonly settings: StackSettings;
  readonly secrets: LocalSecrets;
  /** The environment the stack was started with. */
  readonly env: NodeJS.ProcessEnv;
}

export function edgeUrl(settings: StackSettings): string {
  return `http://${HOST}:${settings.port}`;
}

export function gpuUrl(settings: StackSettings): string {
  return `http://${HOST}:${settings.gpuPort}`;
}

/** Where the edge keeps its local D1, Durable Objects and R2 data. */
export function wranglerStateDir(settings: StackSettings): string {
  return join(settings.stateDir, 'wrangler');
}

export function edgeEnvFile(settings: StackSettings): string {
  return join(settings.stateDir, 'edge.env');
}

function wranglerBin(repoRoot: string): string {
  // wrangler is the edge workspace's dependency: resolve it from there.
  const require = createRequire(join(repoRoot, 'edge', 'package.json'));
  return join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
}

/** Environment of wrangler: no telemetry, no update check, no fetch of Cloudflare's `cf` object. */
function wranglerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  };
}

export function gpuFunctionSpec({ repoRoot, settings, secrets, env }: StackLayout): ServiceSpec {
  const ownBundle = BUNDLE_VARIABLES.some((name) => env[name]);
  return {
    name: 'the GPU function (dragflow serve)',
    tag: 'gpu',
    command: process.execPath,
    args: [
      join(repoRoot, 'gpu-function', 'bin', 'dragflow.js'),
      'serve',
      ...(ownBundle ? [] : ['--demo']),
      '--host',
      HOST,
      '--port',
      String(settings.gpuPort),
      '--shutdown-grace',
      String(settings.shutdownGraceS),
    ],
    env: {
      ...env,
      // Outputs go straight into the edge's store; image URLs and webhooks are on loopback.
      DRAGFLOW_UPLOAD_URL: `${edgeUrl(settings)}/internal/gpu-uploads/${secrets.gpuUploadToken}`,
      DRAGFLOW_ALLOW_LOOPBACK: '1',
      WEBHOOK_AUTH_TOKEN: secrets.cogWebhookToken,
    },
    cwd: repoRoot,
    // Its own shutdown: the grace for a running edit, 10 s for terminal webhooks, 2 s for connections.
    stopTimeoutMs: (settings.shutdownGraceS + 25) * 1000,
  };
}

export function migrationsSpec({ repoRoot, settings, env }: StackLayout): ServiceSpec {
  return {
    name: "the edge's D1 migrations (wrangler d1 migrations apply)",
    tag: 'migrate',
    command: process.execPath,
    args: [
      wranglerBin(repoRoot),
      'd1',
      'migrations',
      'apply',
      'DB',
      '--local',
      '--config',
      join(repoRoot, 'wrangler.toml'),
      '--persist-to',
      wranglerStateDir(settings),
    ],
    env: wranglerEnv(env),
    cwd: repoRoot,
    stopTimeoutMs: 10_000,
  };
}

/** The edge's settings for the local stack (written to its env file, never to a command line). */
export function edgeVariables({ settings, secrets, env }: StackLayout): Record<string, string> {
  const storage = env.STORAGE === 's3' ? 's3' : 'r2';
  const s3: Record<string, string> = {};
  if (storage === 's3') {
    for (const name of S3_VARIABLES) if (env[name]) s3[name] = env[name]!;
  }
  return {
    PUBLIC_URL: edgeUrl(settings),
    DISPATCH: 'cog',
    COG_URL: gpuUrl(settings),
    COG_WEBHOOK_TOKEN: secrets.cogWebhookToken,
    GPU_UPLOAD_TOKEN: secrets.gpuUploadToken,
    SIGNING_SECRET: secrets.signingSecret,
    ADMIN_TOKEN: secrets.adminToken,
    // Local development: image URLs, webhooks and the GPU function may be http on loopback.
    ALLOW_LOOPBACK_URLS: '1',
    STORAGE: storage,
    ...s3,
  };
}

export function edgeSpec({ repoRoot, settings, env }: StackLayout): ServiceSpec {
  return {
    name: 'the edge (wrangler dev)',
    tag: 'edge',
    command: process.execPath,
    args: [
      wranglerBin(repoRoot),
      'dev',
      '--config',
      join(repoRoot, 'wrangler.toml'),
      '--ip',
      HOST,
      '--port',
      String(settings.port),
      // Any free port for the devtools inspector: one port less that could be taken.
      '--inspector-port',
      '0',
      '--persist-to',
      wranglerStateDir(settings),
      '--env-file',
      edgeEnvFile(settings),
      '--show-interactive-dev-session=false',
    ],
    env: wranglerEnv(env),
    cwd: repoRoot,
    stopTimeoutMs: 10_000,
  };
}
