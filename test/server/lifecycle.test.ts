/**
 * The server's life, each step on the real server as a child process: STARTING while setup
 * downloads the bundle (the test holds the download, so STARTING is certain), 503 before setup,
 * READY after; SETUP_FAILED with the reason and setup logs; SIGTERM mid-edit with no grace (the
 * edit is canceled, its webhook delivered, exit 0) and with grace (the edit finishes); DEFUNCT
 * after an internal failure; POST /shutdown.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDemoBundle } from '@dragflow/gpu-function/bundle/demo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  type ChildServer,
  type Receiver,
  send,
  spawnServer,
  startReceiver,
} from '../../gpu-function/test/server/http-fixtures.ts';
import { useTemporaryCache } from '../e2e/scenes.ts';
import { call, EDITS, editInput, hook, isTerminalHook, postAsync, prediction } from './client.ts';

useTemporaryCache('server-lifecycle-');

let hooks: Receiver;
const servers: ChildServer[] = [];

async function start(args: string[]): Promise<ChildServer> {
  const server = await spawnServer(args);
  servers.push(server);
  return server;
}

async function health(server: ChildServer): Promise<Record<string, unknown>> {
  return (await call(`${server.url}/health-check`, 'GET')).body;
}

beforeAll(async () => {
  hooks = await startReceiver();
});

afterAll(async () => {
  for (const server of servers) await server.stop();
  await hooks?.close();
});

describe('setup', () => {
  let demo: string;
  let bundleHost: Receiver;
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    demo = (await ensureDemoBundle()).dir;
    bundleHost = await startReceiver(async (request): Promise<Answer> => {
      const path = request.path.replace(/^\/demo\//, '');
      if (path === 'manifest.json') await held;
      const bytes = await readFile(join(demo, path)).catch(() => null);
      return bytes
        ? { status: 200, headers: { 'content-length': String(bytes.length) }, body: bytes }
        : { status: 404 };
    });
  });

  afterAll(async () => {
    release();
    await bundleHost?.close();
  });

  it('is STARTING and refuses predictions with 503 until the bundle is in, then READY', async () => {
    const sha256 = createHash('sha256')
      .update(await readFile(join(demo, 'manifest.json')))
      .digest('hex');
    const dir = join(process.env.DRAGFLOW_CACHE!, 'downloaded');
    const server = await start([
      '--bundle-url',
      `${bundleHost.url}/demo`,
      '--bundle-sha256',
      sha256,
      '--bundle',
      dir,
      '--allow-loopback',
      '--shutdown-grace',
      '0',
    ]);
    await bundleHost.waitFor((r) => r.path === '/demo/manifest.json');
    expect(await health(server)).toMatchObject({
      status: 'STARTING',
      setup: { status: 'starting', completed_at: null },
    });
    const early = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect(early.status).toBe(503);
    expect(prediction(early)).toMatchObject({
      status: 'failed',
      error_detail: { code: 'not_ready', message: 'setup has not finished yet' },
    });
    release();
    expect(await server.settled()).toBe('READY');
    const ready = (await health(server)) as { setup: { logs: string; status: string } };
    expect(ready.setup.status).toBe('succeeded');
    expect(ready.setup.logs).toMatch(
      /^bundle: downloaded \d+ files, \d+ bytes from http:\/\/127\.0\.0\.1:\d+\/demo\/$/m,
    );
    expect(ready.setup.logs).toMatch(/^slot 0: warm-up edit at 256x256/m);
    expect(bundleHost.requests.filter((r) => r.path === '/demo/manifest.json')).toHaveLength(1);
  });

  it('SIGTERM mid-edit without grace: no new work, the edit canceled, its webhook delivered, exit 0', async () => {
    const server = servers.at(-1)!;
    const accepted = await postAsync(server.url, {
      id: 'sigterm-cancel',
      input: await editInput(EDITS.endless),
      webhook: `${hooks.url}/sigterm-cancel`,
    });
    expect(accepted.status).toBe(202);
    await hooks.waitFor((r) => r.path === '/sigterm-cancel' && hook(r).progress?.phase === 'transport');
    server.process.kill('SIGTERM');
    await server.waitForLog(/shutting down \(SIGTERM\): no new predictions; 1 running, 0 s to finish/);
    const refused = await send(`${server.url}/health-check`, 'GET').then(
      (reply) => `HTTP ${reply.status}`,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(refused).toBe('ECONNREFUSED');
    const last = hook(await hooks.waitFor(isTerminalHook('/sigterm-cancel')));
    expect(last.status).toBe('canceled');
    expect(last.metrics.transformer_calls! - last.metrics.transformer_calls_at_cancel!).toBeLessThanOrEqual(
      1,
    );
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.log()).toMatch(/grace period over, canceling 1 running prediction\(s\)/);
    expect(server.log()).toMatch(/shutdown complete/);
  });

  it('fails setup with the reason and its logs (SETUP_FAILED), and refuses predictions with 503', async () => {
    const server = await start(['--bundle', join(process.env.DRAGFLOW_CACHE!, 'no-such-bundle')]);
    expect(await server.settled()).toBe('SETUP_FAILED');
    const failed = (await health(server)) as { error: string; setup: { status: string; logs: string } };
    expect(failed.error).toMatch(/^bundle_not_found: .*no-such-bundle is not a bundle directory/);
    expect(failed.setup.status).toBe('failed');
    expect(failed.setup.logs).toContain(`failed: ${failed.error}`);
    const refused = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect([refused.status, prediction(refused).error_detail?.code]).toEqual([503, 'not_ready']);
    await server.stop();
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });
});

describe('running server', () => {
  let server: ChildServer;

  beforeAll(async () => {
    server = await start(['--demo', '--allow-loopback', '--shutdown-grace', '600']);
    expect(await server.settled()).toBe('READY');
  });

  it('SIGTERM mid-edit within the grace period: the edit finishes, its webhook is delivered, exit 0', async () => {
    await postAsync(server.url, {
      id: 'sigterm-finish',
      input: await editInput(EDITS.webhooks),
      webhook: `${hooks.url}/sigterm-finish`,
    });
    await hooks.waitFor((r) => r.path === '/sigterm-finish');
    server.process.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const sent = hooks.requests.filter((r) => r.path === '/sigterm-finish').map(hook);
    expect(sent[0]!.status).toBe('processing');
    expect(sent.at(-1)!.status).toBe('succeeded');
    expect(sent.at(-1)!.metrics.transformer_calls).toBe(55);
  });
});

describe('defunct server', () => {
  let server: ChildServer;

  beforeAll(async () => {
    server = await start(['--demo']);
    expect(await server.settled()).toBe('READY');
  });

  it('turns DEFUNCT after an internal failure, refuses work with 503, and shuts down on POST /shutdown', async () => {
    // The runtime graphs for a new image size cannot be written: a file sits where their folder goes.
    const graphs = join(process.env.DRAGFLOW_CACHE!, 'runtime-graphs');
    await rm(graphs, { recursive: true, force: true });
    await writeFile(graphs, 'not a folder');
    const broken = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect(broken.status).toBe(200);
    const failed = prediction(broken);
    expect(failed).toMatchObject({ status: 'failed', error_detail: { code: 'internal' } });
    const status = (await health(server)) as { status: string; error: string };
    expect(status.status).toBe('DEFUNCT');
    expect(status.error).toMatch(/^internal error in prediction [0-9a-f]{32}: /);
    const refused = await call(`${server.url}/predictions`, 'POST', { input: await editInput() });
    expect([refused.status, prediction(refused).error_detail?.code]).toEqual([503, 'not_ready']);
    expect(await call(`${server.url}/shutdown`, 'POST')).toEqual({ status: 200, body: {} });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.log()).toMatch(/shutting down \(POST \/shutdown\)/);
  });
});
