/**
 * Every setting of `dragflow serve`, in one table: its flag, its environment variable, its default
 * and what it does. A flag wins over the environment, the environment over the default. The help
 * text (`dragflow serve --help`) is printed from this table, so it cannot drift from the code.
 *
 * WEBHOOK_AUTH_TOKEN has no flag on purpose: command lines are visible to every local user.
 */
import { parseArgs } from 'node:util';
import { httpsUrlProblem } from '@dragflow/shared/https-url';

/** How the server gets its model bundle. */
export type BundleSource =
  | { kind: 'demo' }
  | { kind: 'dir'; dir: string }
  | { kind: 'url'; url: string; sha256: string; dir: string };

export interface ServerSettings {
  host: string;
  port: number;
  bundle: BundleSource;
  uploadUrl: string | undefined;
  concurrency: number;
  allowLoopback: boolean;
  fetchTimeoutMs: number;
  shutdownGraceMs: number;
  maxBodyBytes: number;
  webhookAuthToken: string | undefined;
}

type Kind = 'string' | 'integer' | 'seconds' | 'boolean';

interface SettingSpec {
  flag: string;
  env: string;
  kind: Kind;
  default: string | undefined;
  description: string;
  /** Inclusive bounds of integer and seconds settings. */
  range?: readonly [number, number];
}

/** The one place every setting is defined and documented. */
export const SETTINGS = [
  { flag: 'host', env: 'HOST', kind: 'string', default: '0.0.0.0', description: 'Address to listen on.' },
  {
    flag: 'port',
    env: 'PORT',
    kind: 'integer',
    default: '5000',
    range: [0, 65535],
    description: "Port to listen on (Cog's 5000); 0 picks a free port, printed at start.",
  },
  {
    flag: 'bundle',
    env: 'DRAGFLOW_BUNDLE',
    kind: 'string',
    default: undefined,
    description:
      'Model bundle folder (e.g. a mounted volume), verified at setup. With --bundle-url: where the download goes.',
  },
  {
    flag: 'demo',
    env: 'DRAGFLOW_DEMO',
    kind: 'boolean',
    default: 'false',
    description:
      'Serve the embedded demo bundle (built in $DRAGFLOW_CACHE on first use; no generative prior).',
  },
  {
    flag: 'bundle-url',
    env: 'DRAGFLOW_BUNDLE_URL',
    kind: 'string',
    default: undefined,
    description:
      'Download the bundle at setup from this https base URL (manifest.json and every file it lists) into --bundle.',
  },
  {
    flag: 'bundle-sha256',
    env: 'DRAGFLOW_BUNDLE_SHA256',
    kind: 'string',
    default: undefined,
    description:
      "sha256 of the bundle's manifest.json, required with --bundle-url; the manifest's own hashes check every other file.",
  },
  {
    flag: 'upload-url',
    env: 'DRAGFLOW_UPLOAD_URL',
    kind: 'string',
    default: undefined,
    description:
      'Store output files with PUT {upload-url}/{filename} (Cog); the Location answered is the output. Without it: data URIs.',
  },
  {
    flag: 'concurrency',
    env: 'DRAGFLOW_CONCURRENCY',
    kind: 'integer',
    default: '1',
    range: [1, 64],
    description: 'Predictions run at once (one per GPU by default); beyond it POST answers 409.',
  },
  {
    flag: 'allow-loopback',
    env: 'DRAGFLOW_ALLOW_LOOPBACK',
    kind: 'boolean',
    default: 'false',
    description:
      'LOCAL DEVELOPMENT ONLY: let image URLs, webhooks, the upload URL and the bundle URL reach loopback (http allowed there).',
  },
  {
    flag: 'fetch-timeout',
    env: 'DRAGFLOW_FETCH_TIMEOUT_S',
    kind: 'seconds',
    default: '30',
    range: [1, 600],
    description:
      'Time limit for fetching one image URL, in seconds (its byte limit is the contract maxImageBytes).',
  },
  {
    flag: 'shutdown-grace',
    env: 'DRAGFLOW_SHUTDOWN_GRACE_S',
    kind: 'seconds',
    default: '20',
    range: [0, 3600],
    description:
      'On SIGTERM or POST /shutdown: seconds a running edit may take to finish before it is canceled.',
  },
  {
    flag: 'max-body-bytes',
    env: 'DRAGFLOW_MAX_BODY_BYTES',
    kind: 'integer',
    default: String(64 * 1024 * 1024),
    range: [1024, 1024 * 1024 * 1024],
    description: 'Largest prediction request body accepted (inline images count); larger answers 413.',
  },
] as const satisfies readonly SettingSpec[];

type FlagName = (typeof SETTINGS)[number]['flag'];

export const WEBHOOK_AUTH_TOKEN_ENV = 'WEBHOOK_AUTH_TOKEN';

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function parseValue(spec: SettingSpec, raw: string, source: string): string | number | boolean {
  const where = `${source} ${JSON.stringify(raw)}`;
  switch (spec.kind) {
    case 'string':
      if (raw === '') throw new SettingsError(`${where}: must not be empty`);
      return raw;
    case 'boolean':
      if (['1', 'true', 'yes'].includes(raw)) return true;
      if (['0', 'false', 'no', ''].includes(raw)) return false;
      throw new SettingsError(`${where}: must be true/false, 1/0 or yes/no`);
    case 'integer':
    case 'seconds': {
      const value = Number(raw);
      const ok = spec.kind === 'integer' ? /^\d+$/.test(raw) : /^\d+(\.\d+)?$/.test(raw);
      const [min, max] = spec.range ?? [0, Number.MAX_SAFE_INTEGER];
      if (!ok || value < min || value > max) {
        const what = spec.kind === 'integer' ? 'an integer' : 'a number of seconds';
        throw new SettingsError(`${where}: must be ${what} in [${min}, ${max}]`);
      }
      return value;
    }
  }
}

/** Flag value, else environment value, else default, parsed per the table. */
function resolve(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): Record<FlagName, string | number | boolean | undefined> {
  const out = {} as Record<FlagName, string | number | boolean | undefined>;
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const flag = values[spec.flag];
    const fromEnv = env[spec.env];
    let value: string | number | boolean | undefined;
    if (flag !== undefined) {
      value = typeof flag === 'boolean' ? flag : parseValue(spec, flag, `--${spec.flag}`);
    } else if (fromEnv !== undefined) {
      value = parseValue(spec, fromEnv, spec.env);
    } else if (spec.default !== undefined) {
      value = parseValue(spec, spec.default, 'default');
    }
    out[spec.flag as FlagName] = value;
  }
  return out;
}

function bundleSource(v: Record<FlagName, string | number | boolean | undefined>): BundleSource {
  const dir = v.bundle as string | undefined;
  const url = v['bundle-url'] as string | undefined;
  const sha256 = v['bundle-sha256'] as string | undefined;
  if (v.demo === true) {
    if (dir !== undefined || url !== undefined)
      throw new SettingsError('--demo cannot be combined with --bundle or --bundle-url');
    return { kind: 'demo' };
  }
  if (url !== undefined) {
    if (dir === undefined) throw new SettingsError('--bundle-url needs --bundle <dir> to download into');
    if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new SettingsError(
        "--bundle-url needs --bundle-sha256: manifest.json's sha256 as 64 lowercase hex",
      );
    }
    return { kind: 'url', url, sha256, dir };
  }
  if (sha256 !== undefined) throw new SettingsError('--bundle-sha256 is used with --bundle-url only');
  if (dir === undefined)
    throw new SettingsError('give a model bundle: --bundle <dir>, --bundle-url <url> or --demo');
  return { kind: 'dir', dir };
}

/** The URL a setting names, refused like any URL the server calls (https, or http to loopback when allowed). */
function checkUrl(flag: string, value: string | undefined, allowLoopback: boolean): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingsError(`--${flag} ${JSON.stringify(value)}: not an absolute URL`);
  }
  const problem = httpsUrlProblem(url, { allowLoopbackHttp: allowLoopback });
  if (problem) throw new SettingsError(`--${flag}: ${problem}`);
}

/** Settings from command-line arguments and the environment; throws SettingsError naming the culprit. */
export function parseSettings(args: string[], env: NodeJS.ProcessEnv = process.env): ServerSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: Object.fromEntries(
        SETTINGS.map((spec) => [spec.flag, { type: spec.kind === 'boolean' ? 'boolean' : 'string' }]),
      ),
      strict: true,
    }));
  } catch (error) {
    throw new SettingsError((error as Error).message);
  }
  const v = resolve(values, env);
  const allowLoopback = v['allow-loopback'] as boolean;
  checkUrl('upload-url', v['upload-url'] as string | undefined, allowLoopback);
  checkUrl('bundle-url', v['bundle-url'] as string | undefined, allowLoopback);
  const token = env[WEBHOOK_AUTH_TOKEN_ENV];
  return {
    host: v.host as string,
    port: v.port as number,
    bundle: bundleSource(v),
    uploadUrl: v['upload-url'] as string | undefined,
    concurrency: v.concurrency as number,
    allowLoopback,
    fetchTimeoutMs: (v['fetch-timeout'] as number) * 1000,
    shutdownGraceMs: (v['shutdown-grace'] as number) * 1000,
    maxBodyBytes: v['max-body-bytes'] as number,
    webhookAuthToken: token === undefined || token === '' ? undefined : token,
  };
}

/** The help text: usage, then every setting with its flag, variable and default. */
export function settingsHelp(): string {
  const lines = [
    'usage: dragflow serve [--port 5000] [--bundle DIR | --bundle-url URL --bundle-sha256 HEX --bundle DIR | --demo]',
    '                      [--upload-url URL] [options]',
    '',
    'A Cog-compatible prediction server for DragFlow edits (HTTP API: GET /, /health-check,',
    '/openapi.json; POST /predictions, PUT /predictions/{id}, POST /predictions/{id}/cancel, POST /shutdown).',
    'Each setting is a flag or an environment variable (the flag wins):',
    '',
  ];
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const value = spec.kind === 'boolean' ? '' : ' <value>';
    const fallback = spec.default === undefined ? 'unset' : spec.default;
    lines.push(`  --${spec.flag}${value}  (${spec.env}, default ${fallback})`);
    lines.push(`      ${spec.description}`);
  }
  lines.push(
    `  ${WEBHOOK_AUTH_TOKEN_ENV} (environment only)`,
    '      Sent as "Authorization: Bearer <token>" with every webhook (Cog).',
  );
  return lines.join('\n');
}
