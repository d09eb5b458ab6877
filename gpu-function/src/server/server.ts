/**
 * The GPU function server: listens first (so `/health-check` answers STARTING at once), runs setup
 * in the background, serves predictions once it succeeded, and shuts down gracefully:
 *
 * 1. stop taking work: the listener closes (new connections are refused) and requests still
 *    arriving on open connections are answered 503;
 * 2. running edits get `--shutdown-grace` seconds to finish, then are canceled (an edit stops
 *    before its next transformer call);
 * 3. their terminal webhooks are delivered, with the usual retries, for up to
 *    SHUTDOWN_WEBHOOK_DRAIN_MS more;
 * 4. open connections are closed (synchronous requests got their answers in step 2) and the
 *    models released. `dragflow serve` then exits 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHandler } from './app.ts';
import { dataUriStore, uploadStore } from './output-store.ts';
import { Runner } from './runner.ts';
import type { ServerSettings } from './settings.ts';
import { Setup } from './setup.ts';

/** How long terminal webhooks may still take once the edits have ended, at shutdown. */
export const SHUTDOWN_WEBHOOK_DRAIN_MS = 10_000;
/** How long open connections may take to finish their answers at shutdown. */
const SHUTDOWN_CONNECTIONS_MS = 2_000;

export const SERVER_VERSION = '0.1.0';

export interface RunningServer {
  /** http://host:port the server listens on (the port chosen when --port 0). */
  url: string;
  setup: Setup;
  runner: Runner;
  /** Resolves when setup has succeeded or failed. */
  setupDone: Promise<void>;
  /** Graceful shutdown (idempotent); resolves when it is complete. */
  shutdown(reason: string): Promise<void>;
  /** Resolves with the reason when a shutdown was requested over HTTP (POST /shutdown). */
  shutdownRequested: Promise<string>;
}

/** Whether `work` settles within `ms`; the timer never outlives the race (it would hold the process). */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startServer(
  settings: ServerSettings,
  log: (line: string) => void,
): Promise<RunningServer> {
  const setup = new Setup(log);
  const runner = new Runner({
    concurrency: settings.concurrency,
    store: settings.uploadUrl ? uploadStore(settings.uploadUrl, settings.allowLoopback) : dataUriStore(),
    allowLoopback: settings.allowLoopback,
    fetchTimeoutMs: settings.fetchTimeoutMs,
    webhookAuthToken: settings.webhookAuthToken,
    log,
  });
  let stopping = false;
  let requestShutdown!: (reason: string) => void;
  const shutdownRequested = new Promise<string>((resolve) => {
    requestShutdown = resolve;
  });
  const server = createServer(
    createHandler({
      setup,
      runner,
      allowLoopback: settings.allowLoopback,
      maxBodyBytes: settings.maxBodyBytes,
      version: SERVER_VERSION,
      stopping: () => stopping,
      requestShutdown: () => requestShutdown('POST /shutdown'),
    }),
  );
  const address = await listen(server, settings.port, settings.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log(`listening on ${url}`);

  const setupDone = setup.run(
    settings.bundle,
    settings.allowLoopback,
    runner.slots.map((slot) => slot.models),
    (bundle, version) => runner.ready(bundle.dir, version),
  );

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Said once the listener is closed: whoever reads this line finds no one listening.
      const graceSeconds = settings.shutdownGraceMs / 1000;
      log(
        `shutting down (${reason}): no new predictions; ${runner.inFlight} running, ${graceSeconds} s to finish`,
      );
      if (!(await within(runner.idle(), settings.shutdownGraceMs))) {
        log(`shutdown: grace period over, canceling ${runner.inFlight} running prediction(s)`);
        runner.cancelAll();
        await runner.idle();
      }
      if (!(await within(runner.webhooksSettled(), SHUTDOWN_WEBHOOK_DRAIN_MS)))
        log(`shutdown: terminal webhooks still failing after ${SHUTDOWN_WEBHOOK_DRAIN_MS} ms, giving up`);
      server.closeIdleConnections();
      await within(closed, SHUTDOWN_CONNECTIONS_MS);
      server.closeAllConnections();
      if (setup.status !== 'starting') await runner.release();
      log('shutdown complete');
    })();
    return closing;
  };
  return { url, setup, runner, setupDone, shutdown, shutdownRequested };
}
