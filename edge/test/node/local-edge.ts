/**
 * The edge under `wrangler dev` on loopback (workerd through Miniflare, local D1, Durable Objects
 * and R2), for suites that need it reachable over HTTP: the end-to-end tests (the GPU function
 * calls it back) and bench:edge. D1 migrations are applied first. wrangler dev runs in its own
 * process group and is stopped by group: killing only wrangler leaves workerd holding the port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin',
  'wrangler.js',
);

/** A port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function wrangler(args: string[], options: { detached: boolean }): ChildProcess {
  return spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    detached: options.detached,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
  });
}

function outputOf(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    text = (text + chunk).slice(-20_000);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    text = (text + chunk).slice(-20_000);
  });
  return () => text;
}

async function run(args: string[]): Promise<void> {
  const child = wrangler(args, { detached: false });
  const output = outputOf(child);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`wrangler ${args.join(' ')} exited ${code}:\n${output()}`);
}

export interface LocalEdge {
  readonly url: string;
  readonly port: number;
  /** wrangler's and workerd's output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface LocalEdgeOptions {
  /** Workers variables (`--var NAME:VALUE`), on top of wrangler.toml's [vars]. */
  readonly vars: Record<string, string>;
  readonly port?: number;
  readonly readyTimeoutMs?: number;
}

async function waitReady(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${url}/v1/openapi.json`);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`wrangler dev did not answer within ${timeoutMs} ms:\n${output()}`);
}

export async function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const persistTo = await mkdtemp(join(tmpdir(), 'dragflow-edge-'));
  await run(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistTo]);
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const vars = Object.entries(options.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
  const child = wrangler(
    [
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      persistTo,
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
      ...vars,
    ],
    { detached: true },
  );
  const output = outputOf(child);
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      }
      // workerd may outlive wrangler for a moment: make sure the whole group is gone.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is empty
      }
      await rm(persistTo, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await waitReady(url, child, output, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, output, stop };
}
