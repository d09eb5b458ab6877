/**
 * Real HTTP on loopback for the server tests: a client, a receiver that records every request
 * (webhooks, uploads, image URLs) and answers as told, and the real `dragflow serve` as a child
 * process. Waiting is on events (a request arrives, a log line is printed), never on elapsed time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One request on a fresh connection, with no time limit: fetch would pool connections (a pooled one
 * the server closes as idle resets under load) and give up on answers slower than 300 s.
 */
export function send(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the request line and headers arrived. */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Decides the answer; may return a promise (e.g. to hold a request until the test releases it). */
export type Responder = (request: Received, res: ServerResponse) => Answer | Promise<Answer> | 'hold';

export interface Receiver {
  url: string;
  requests: Received[];
  /** Resolves with the first recorded request (past or future) that matches. */
  waitFor(match: (request: Received) => boolean): Promise<Received>;
  close(): Promise<void>;
}

export async function startReceiver(respond: Responder = () => ({ status: 200 })): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const received: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at,
      };
      requests.push(received);
      for (const waiter of [...waiters]) {
        if (waiter.match(received)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(received);
        }
      }
      const answer = await respond(received, res);
      if (answer === 'hold') return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor: (match) => {
      const found = requests.find(match);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const BIN = fileURLToPath(new URL('../../bin/dragflow.js', import.meta.url));

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** stderr so far (the server's log). */
  log(): string;
  /** Resolves when a log line matches. */
  waitForLog(pattern: RegExp): Promise<string>;
  /** Resolves with the health-check status once it is no longer STARTING. */
  settled(): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit (SIGKILL if it has not exited after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `dragflow serve` on a free loopback port with `args` and extra environment. */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const logWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    for (const waiter of [...logWaiters]) {
      const line = stderr.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        logWaiters.splice(logWaiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then(({ code }) =>
      reject(new Error(`dragflow serve exited (${code}) before listening:\n${stderr}`)),
    );
  });
  const waitForLog = (pattern: RegExp) => {
    const line = stderr.split('\n').find((l) => pattern.test(l));
    return line !== undefined
      ? Promise.resolve(line)
      : new Promise<string>((resolve) => logWaiters.push({ pattern, resolve }));
  };
  return {
    url,
    process: child,
    log: () => stderr,
    waitForLog,
    async settled() {
      for (;;) {
        const { status } = JSON.parse((await send(`${url}/health-check`, 'GET')).text) as { status: string };
        if (status !== 'STARTING') return status;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    exited,
    async stop(graceMs = 300_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
