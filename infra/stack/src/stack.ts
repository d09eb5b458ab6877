/**
 * The local stack, start to stop:
 * 1. check that both ports are free (a taken port is named with its setting and, where /proc
 *    tells, the process holding it) and that the storage settings are complete;
 * 2. start the GPU function, apply the edge's D1 migrations, start the edge, wait until both
 *    answer, make or reuse the local account, print the banner;
 * 3. run until Ctrl-C / SIGTERM, or until a service dies (the message names it and quotes its
 *    last lines);
 * 4. stop in order: the GPU function first (a running edit finishes or is canceled, and its final
 *    report still reaches the edge), then the edge; each as a whole process group.
 */

import { banner } from './banner.ts';
import { ensureLocalAccount } from './local-account.ts';
import { ensurePrivateDir, loadOrCreateSecrets, writeEnvFile } from './local-secrets.ts';
import { portHolders, portProblem } from './ports.ts';
import { describeExit, type Exit, Service } from './service.ts';
import {
  edgeEnvFile,
  edgeSpec,
  edgeUrl,
  edgeVariables,
  gpuFunctionSpec,
  gpuUrl,
  HOST,
  migrationsSpec,
  type StackLayout,
} from './services.ts';
import type { StackSettings } from './settings.ts';

export interface StackIo {
  /** The banner (stdout). */
  out(text: string): void;
  /** Progress and service output, one line each (stderr). */
  log(line: string): void;
}

/** Exit codes of `npm start`. */
export const EXIT = { stopped: 0, failed: 1, badSetup: 2 } as const;

/** How often a starting service is asked whether it is ready. */
const READY_POLL_MS = 250;
const EDGE_READY_TIMEOUT_MS = 180_000;
/** The GPU function builds the demo bundle on first use and runs a warm-up edit before it is READY. */
const GPU_READY_TIMEOUT_MS = 600_000;

class StackFailure extends Error {}
class StopRequested extends Error {}

const REQUIRED_S3 = ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];

/** What is wrong with the storage settings in the environment, if anything. */
export function storageProblem(env: NodeJS.ProcessEnv): string | undefined {
  const storage = env.STORAGE;
  if (storage === undefined || storage === '' || storage === 'r2') return undefined;
  if (storage !== 's3') return `STORAGE=${JSON.stringify(storage)}: must be r2 (the default) or s3`;
  const missing = REQUIRED_S3.filter((name) => !env[name]);
  if (missing.length > 0) return `STORAGE=s3 needs ${missing.join(', ')} in the environment`;
  return undefined;
}

function failureReport(service: Service, what: string): string {
  const tail = service.tail();
  const quoted = tail.length > 0 ? `\nits last lines:\n${tail.map((line) => `  ${line}`).join('\n')}` : '';
  return `${service.spec.name} (pid ${service.pid}) ${what}${quoted}`;
}

export async function runStack(
  settings: StackSettings,
  repoRoot: string,
  env: NodeJS.ProcessEnv,
  io: StackIo,
  stop: AbortSignal,
): Promise<number> {
  const say = (line: string) => io.log(`stack: ${line}`);

  const storage = storageProblem(env);
  if (storage) {
    say(`error: ${storage}`);
    return EXIT.badSetup;
  }
  const ports = [
    { port: settings.port, what: 'the edge (--port or DRAGFLOW_PORT)', flag: '--port' },
    {
      port: settings.gpuPort,
      what: 'the GPU function (--gpu-port or DRAGFLOW_GPU_PORT)',
      flag: '--gpu-port',
    },
  ];
  let portsOk = true;
  for (const { port, what, flag } of ports) {
    const problem = await portProblem(HOST, port);
    if (!problem) continue;
    portsOk = false;
    const holders = await portHolders(port);
    const by = holders.length > 0 ? ` by ${holders.join(', ')}` : '';
    say(
      `error: port ${port} on ${HOST}, for ${what}, ${problem}${by}. Stop that process or choose another port: npm start -- ${flag} <port>`,
    );
  }
  if (!portsOk) return EXIT.badSetup;

  await ensurePrivateDir(settings.stateDir);
  const secrets = await loadOrCreateSecrets(settings.stateDir);
  const layout: StackLayout = { repoRoot, settings, secrets, env };
  await writeEnvFile(edgeEnvFile(settings), edgeVariables(layout));

  const running: Service[] = [];
  const serviceLog = (line: string) => io.log(line);

  /** `promise`, unless a service dies or a stop is requested first. */
  const unlessInterrupted = <T>(promise: Promise<T>, except?: Service): Promise<T> => {
    const deaths = running
      .filter((service) => service !== except)
      .map((service) =>
        service.exited.then((exit: Exit) => {
          throw new StackFailure(failureReport(service, `${describeExit(exit)} unexpectedly`));
        }),
      );
    const stopped = new Promise<never>((_, reject) => {
      const onAbort = () => reject(new StopRequested(String(stop.reason)));
      if (stop.aborted) onAbort();
      else stop.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([promise, ...deaths, stopped]);
  };

  const start = async (spec: Parameters<typeof Service.start>[0]) => {
    const service = await Service.start(spec, serviceLog);
    running.push(service);
    say(`started ${spec.name}, pid ${service.pid}`);
    return service;
  };

  const poll = async (what: string, timeoutMs: number, ready: () => Promise<boolean>) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new StackFailure(`${what} was not ready after ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  };

  let exitCode: number = EXIT.stopped;
  try {
    const gpu = await start(gpuFunctionSpec(layout));

    const migrations = await Service.start(migrationsSpec(layout), serviceLog);
    running.push(migrations);
    const migrated = await unlessInterrupted(migrations.exited, migrations);
    running.splice(running.indexOf(migrations), 1);
    if (migrated.code !== 0) {
      throw new StackFailure(failureReport(migrations, `failed: it ${describeExit(migrated)}`));
    }
    say("the edge's D1 migrations are applied");

    await start(edgeSpec(layout));
    const edge = edgeUrl(settings);
    await unlessInterrupted(
      poll('the edge', EDGE_READY_TIMEOUT_MS, async () => {
        const response = await fetch(`${edge}/v1/openapi.json`);
        await response.body?.cancel();
        return response.status === 200;
      }),
    );
    say(`the edge answers on ${edge}`);
    const account = await unlessInterrupted(
      ensureLocalAccount(edge, secrets.adminToken, settings.stateDir, settings.credits),
    );

    let setupError: string | undefined;
    await unlessInterrupted(
      poll('the GPU function', GPU_READY_TIMEOUT_MS, async () => {
        const response = await fetch(`${gpuUrl(settings)}/health-check`);
        const health = (await response.json()) as {
          status: string;
          setup?: { logs?: string };
          error?: unknown;
        };
        if (health.status === 'SETUP_FAILED' || health.status === 'DEFUNCT') {
          setupError = `${health.status}: ${JSON.stringify(health.error)}\n${health.setup?.logs ?? ''}`;
          return true;
        }
        return health.status === 'READY' || health.status === 'BUSY';
      }),
    );
    if (setupError) throw new StackFailure(failureReport(gpu, `could not set up its model: ${setupError}`));
    say(`the GPU function answers on ${gpuUrl(settings)}`);

    io.out(
      banner({
        edgeUrl: edge,
        gpuUrl: gpuUrl(settings),
        apiKey: account.apiKey,
        credits: account.availableCredits,
        storage: env.STORAGE === 's3' ? 's3' : 'r2',
        demoBundle: !env.DRAGFLOW_BUNDLE && !env.DRAGFLOW_BUNDLE_URL,
      }),
    );
    await unlessInterrupted(new Promise<never>(() => undefined));
  } catch (error) {
    if (error instanceof StopRequested) {
      say(`${error.message} received, stopping`);
    } else {
      exitCode = EXIT.failed;
      const message = error instanceof Error ? error.message : String(error);
      say(`error: ${message}`);
      say('stopping the rest of the stack');
    }
  }

  // The GPU function first: its last webhooks still reach the edge. Then the edge.
  for (const service of running) {
    // A service that died may have left children in its group: they are stopped all the same.
    if (!service.groupAlive()) continue;
    say(
      `stopping ${service.spec.name}, pid ${service.pid}${service.hasExited ? ' (what it left running)' : ''}`,
    );
    const report = await service.stop();
    say(
      report.graceful
        ? `stopped ${service.spec.name} in ${(report.ms / 1000).toFixed(1)} s`
        : `${service.spec.name} did not stop within ${service.spec.stopTimeoutMs / 1000} s of SIGTERM; killed it`,
    );
  }
  const busy: number[] = [];
  for (const { port } of ports) if (await portProblem(HOST, port)) busy.push(port);
  if (busy.length > 0) {
    say(`error: port(s) ${busy.join(', ')} still in use after the stop`);
    return EXIT.failed;
  }
  say(`everything stopped; ports ${settings.port} and ${settings.gpuPort} are free`);
  return exitCode;
}
