/**
 * The secrets that tie the local services together, made once per state folder and kept there
 * (mode 0600) so signed result URLs and the local key survive a restart. They never reach a
 * command line (visible to every local user) or the log: the edge reads them from an env file,
 * the GPU function from its environment.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LocalSecrets {
  /** Edge: HMAC key of its signed file URLs and callback secrets. */
  readonly signingSecret: string;
  /** Edge: authorises /admin, which the stack uses to create the local account. */
  readonly adminToken: string;
  /** Path secret of the GPU function's upload URL into the edge. */
  readonly gpuUploadToken: string;
  /** Bearer token the GPU function sends with its webhooks and the edge checks. */
  readonly cogWebhookToken: string;
}

const FIELDS = ['signingSecret', 'adminToken', 'gpuUploadToken', 'cogWebhookToken'] as const;

function token(): string {
  return randomBytes(32).toString('base64url');
}

/** Makes the state folder private to this user. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** The folder's secrets, created on first use; a damaged file is replaced by new secrets. */
export async function loadOrCreateSecrets(stateDir: string): Promise<LocalSecrets> {
  const file = join(stateDir, 'secrets.json');
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    if (
      FIELDS.every((field) => typeof stored[field] === 'string' && (stored[field] as string).length >= 32)
    ) {
      return stored as unknown as LocalSecrets;
    }
  } catch {
    // Missing or unreadable: make new ones below.
  }
  const secrets: LocalSecrets = {
    signingSecret: token(),
    adminToken: token(),
    gpuUploadToken: token(),
    cogWebhookToken: token(),
  };
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return secrets;
}

/** One `NAME='value'` line of a dotenv file; values that cannot be written literally are refused. */
export function dotenvLine(name: string, value: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`${name}: not an environment variable name`);
  if (/['\n\r]/.test(value)) {
    throw new Error(`${name}: its value holds a quote or a line break, which the env file cannot carry`);
  }
  return `${name}='${value}'`;
}

/** Writes a private dotenv file (mode 0600) with these variables. */
export async function writeEnvFile(file: string, vars: Readonly<Record<string, string>>): Promise<void> {
  const text = Object.entries(vars)
    .map(([name, value]) => dotenvLine(name, value))
    .join('\n');
  await writeFile(file, `${text}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}
