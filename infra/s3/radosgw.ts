// Starts and stops the local S3 server (single-node Ceph radosgw, infra/s3/ceph-s3.sh) from Node:
// for test setups (vitest globalSetup) and the local stack. Everything listens on 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const SCRIPT = fileURLToPath(new URL('./ceph-s3.sh', import.meta.url));

export type RadosgwDaemon = 'mon' | 'osd' | 'rgw';
const DAEMONS: readonly RadosgwDaemon[] = ['mon', 'osd', 'rgw'];

export interface RadosgwOptions {
  /** Where Ceph keeps its config, keys, logs and monitor store; wiped at start. Default: a new
   * temporary folder, removed by stop(). */
  stateDir?: string;
  /** S3 port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Limit for each readiness wait of the script (monitor, OSD, radosgw), seconds. Default 120. */
  readyTimeoutSeconds?: number;
}

export interface Radosgw {
  /** http://127.0.0.1:<port>, path-style buckets. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  stateDir: string;
  pids: Record<RadosgwDaemon, number>;
  /** An S3 client for this server. Checksums only where S3 requires them, as the edge needs: with the
   * SDK default a presigned PUT URL carries the CRC32 of an empty body, which real S3 and R2 reject
   * but radosgw 16 ignores (it checks no x-amz-checksum-* value), so tests here cannot catch it. */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Resident memory of each daemon now, bytes. */
  rssBytes(): Promise<Record<RadosgwDaemon, number>>;
  /** Kills every daemon, waits until they are gone (their ports closed); idempotent. */
  stop(): Promise<void>;
}

interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], env: NodeJS.ProcessEnv): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface StartLine {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  pids: Record<RadosgwDaemon, number>;
}

function parseStartLine(stdout: string): StartLine {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`ceph-s3.sh start printed no JSON line: ${JSON.stringify(stdout.slice(-500))}`);
  }
  const p = parsed as Partial<StartLine>;
  const ok =
    typeof p.endpoint === 'string' &&
    typeof p.accessKeyId === 'string' &&
    typeof p.secretAccessKey === 'string' &&
    typeof p.region === 'string' &&
    DAEMONS.every((d) => Number.isInteger(p.pids?.[d]));
  if (!ok) throw new Error(`ceph-s3.sh start printed an incomplete line: ${line}`);
  return p as StartLine;
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

export async function startRadosgw(options: RadosgwOptions = {}): Promise<Radosgw> {
  const ownsStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'dragflow-radosgw-')));
  const env = { ...process.env };
  if (options.readyTimeoutSeconds !== undefined) env.CEPH_S3_TIMEOUT = String(options.readyTimeoutSeconds);

  const started = await runScript(['start', stateDir, String(options.port ?? 0)], env);
  if (started.code !== 0) {
    if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    throw new Error(`local S3 server did not start (exit ${started.code}):\n${started.stderr.trim()}`);
  }
  const info = parseStartLine(started.stdout);

  // Safety net: a test process that dies without calling stop() still takes the daemons with it.
  // Each daemon leads its own process group (setsid in the script).
  const killOnExit = () => {
    for (const d of DAEMONS) {
      try {
        process.kill(-info.pids[d], 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);

  let client: S3Client | undefined;
  const getClient = () => {
    client ??= new S3Client({
      endpoint: info.endpoint,
      region: info.region,
      forcePathStyle: true,
      credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return client;
  };

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      client?.destroy();
      const stopped = await runScript(['stop', stateDir], env);
      if (stopped.code !== 0) {
        throw new Error(`local S3 server did not stop (exit ${stopped.code}): ${stopped.stderr.trim()}`);
      }
      if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return {
    ...info,
    stateDir,
    client: getClient,
    async createBucket(name) {
      await getClient().send(new CreateBucketCommand({ Bucket: name }));
    },
    async rssBytes() {
      const entries = await Promise.all(DAEMONS.map(async (d) => [d, await rssOf(info.pids[d])] as const));
      return Object.fromEntries(entries) as Record<RadosgwDaemon, number>;
    },
    stop,
  };
}
