/**
 * Settings of `npm start` (the local stack): a flag wins over the environment, the environment over
 * the default. The help text is printed from the same table, so it cannot drift from the code.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface StackSettings {
  /** Port of the edge (playground and API) on 127.0.0.1. */
  readonly port: number;
  /** Port of the GPU function (Cog prediction API) on 127.0.0.1. */
  readonly gpuPort: number;
  /** Folder for the local D1 database, Durable Objects, stored files, secrets and the local key. */
  readonly stateDir: string;
  /** Credits the local account is topped up to at every start. */
  readonly credits: number;
  /** Seconds a running edit may take to finish when the stack stops, before it is canceled. */
  readonly shutdownGraceS: number;
}

interface Spec {
  readonly flag: string;
  readonly env: string;
  readonly default: string;
  readonly range?: readonly [number, number];
  readonly description: string;
}

export const STACK_SETTINGS = [
  {
    flag: 'port',
    env: 'DRAGFLOW_PORT',
    default: '8787',
    range: [1, 65535],
    description: 'Port of the edge on 127.0.0.1: the playground at /, the API at /v1.',
  },
  {
    flag: 'gpu-port',
    env: 'DRAGFLOW_GPU_PORT',
    default: '5000',
    range: [1, 65535],
    description: 'Port of the GPU function (Cog prediction API) on 127.0.0.1.',
  },
  {
    flag: 'state',
    env: 'DRAGFLOW_STATE_DIR',
    default: '.dragflow-local',
    description:
      'Folder (relative to the repository) for the local database, Durable Objects, stored files, secrets and the local API key; kept between runs.',
  },
  {
    flag: 'credits',
    env: 'DRAGFLOW_LOCAL_CREDITS',
    default: '100000',
    range: [0, 1_000_000_000],
    description: 'Credits the local account is topped up to at every start.',
  },
  {
    flag: 'shutdown-grace',
    env: 'DRAGFLOW_SHUTDOWN_GRACE_S',
    default: '5',
    range: [0, 600],
    description: 'On Ctrl-C: seconds a running edit may take to finish before it is canceled.',
  },
] as const satisfies readonly Spec[];

export class StackSettingsError extends Error {
  override readonly name = 'StackSettingsError';
}

function integer(spec: Spec, raw: string, source: string): number {
  const [min, max] = spec.range ?? [0, Number.MAX_SAFE_INTEGER];
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new StackSettingsError(`${source} ${JSON.stringify(raw)}: must be an integer in [${min}, ${max}]`);
  }
  return value;
}

/** Settings from arguments and environment; throws StackSettingsError naming the culprit. */
export function parseStackSettings(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  repoRoot: string,
): StackSettings {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: Object.fromEntries(STACK_SETTINGS.map((spec) => [spec.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new StackSettingsError((error as Error).message);
  }
  const raw = (spec: Spec): [string, string] => {
    const flag = values[spec.flag];
    if (flag !== undefined) return [flag, `--${spec.flag}`];
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return [fromEnv, spec.env];
    return [spec.default, `default of --${spec.flag}`];
  };
  const number = (spec: Spec) => integer(spec, ...raw(spec));
  const [port, gpuPort, state, credits, grace] = STACK_SETTINGS;
  const settings: StackSettings = {
    port: number(port),
    gpuPort: number(gpuPort),
    stateDir: resolve(repoRoot, raw(state)[0]),
    credits: number(credits),
    shutdownGraceS: number(grace),
  };
  if (settings.port === settings.gpuPort) {
    throw new StackSettingsError(
      `--port and --gpu-port are both ${settings.port}; the edge and the GPU function need a port each`,
    );
  }
  return settings;
}

export function stackHelp(): string {
  const lines = [
    'usage: npm start -- [options]',
    '',
    'Runs the whole service locally: the GPU function on the demo bundle and the edge (playground and',
    'API) under wrangler dev with local D1, Durable Objects and storage. Ctrl-C stops everything.',
    '',
    'options (flag, environment variable, default):',
  ];
  for (const spec of STACK_SETTINGS) {
    lines.push(
      `  --${spec.flag} <value>  ${spec.env}  (default ${spec.default})`,
      `      ${spec.description}`,
    );
  }
  lines.push(
    '',
    'Storage: the edge stores files in its local R2 (simulated, nothing to install). With STORAGE=s3 and',
    'S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (and S3_REGION) in the environment',
    'it uses that S3-compatible server instead.',
  );
  return lines.join('\n');
}
