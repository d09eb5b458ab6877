/**
 * The real GPU function (`dragflow serve --demo`, the Cog-compatible server of gpu-function/) on
 * loopback, for the end-to-end suite: started in its own process group, ready once /health-check
 * says READY, and killable (SIGKILL, as a crashed machine) and restartable on the same port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The dragflow CLI; DRAGFLOW_BIN points elsewhere (another checkout) when set. */
const BIN = process.env.DRAGFLOW_BIN ?? `${ROOT}gpu-function/bin/dragflow.js`;

export interface GpuServerOptions {
  /** Cog's --upload-url: where output files are PUT. */
  readonly uploadUrl: string;
  readonly port?: number;
  readonly readyTimeoutMs?: number;
}

export interface GpuServer {
  readonly url: string;
  readonly port: number;
  output(): string;
  /** SIGKILL to the whole process group: the GPU function vanishes mid-edit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

interface Running {
  child: ChildProcess;
  output: () => string;
}

function launch(options: GpuServerOptions, port: number): Running {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--demo',
      '--allow-loopback',
      '--upload-url',
      options.uploadUrl,
    ],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let text = '';
  const keep = (chunk: string) => {
    text = (text + chunk).slice(-20_000);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  return { child, output: () => text };
}

async function waitReady(running: Running, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null)
      throw new Error(`dragflow serve exited ${running.child.exitCode}:\n${running.output()}`);
    url ??= /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())?.[1];
    if (url) {
      try {
        const health = (await (await fetch(`${url}/health-check`)).json()) as { status: string };
        if (health.status === 'READY') return url;
        if (health.status === 'SETUP_FAILED')
          throw new Error(`GPU function setup failed:\n${running.output()}`);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('GPU function setup failed')) throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`dragflow serve was not READY within ${timeoutMs} ms:\n${running.output()}`);
}

async function killGroup(running: Running, signal: NodeJS.Signals): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid!, signal);
  } catch {
    return;
  }
  await exited;
}

export async function startGpuServer(options: GpuServerOptions): Promise<GpuServer> {
  const timeout = options.readyTimeoutMs ?? 300_000;
  let running = launch(options, options.port ?? 0);
  let url: string;
  try {
    url = await waitReady(running, timeout);
  } catch (error) {
    await killGroup(running, 'SIGKILL');
    throw error;
  }
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    output: () => running.output(),
    kill: () => killGroup(running, 'SIGKILL'),
    async restart() {
      running = launch(options, port);
      await waitReady(running, timeout);
    },
    stop: () => killGroup(running, 'SIGKILL'),
  };
}
