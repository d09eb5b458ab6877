/**
 * What `npm start` checks and prepares before it starts anything: settings, taken ports (named
 * with their setting and holder), storage settings, private secrets and env file, and the banner's
 * first API call, which must be a valid edit request that a shell passes through unchanged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEditRequest } from '@dragflow/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banner, firstEditCurl, firstEditRequest } from '../src/banner.ts';
import { dotenvLine, loadOrCreateSecrets, writeEnvFile } from '../src/local-secrets.ts';
import { portHolders, portProblem } from '../src/ports.ts';
import { parseStackSettings, StackSettingsError, stackHelp } from '../src/settings.ts';
import { EXIT, runStack, storageProblem } from '../src/stack.ts';
import { freePort } from './support/free-port.ts';

let folder: string;
let server: Server;
let takenPort: number;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'dragflow-stack-test-'));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  takenPort = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(folder, { recursive: true, force: true });
});

describe('settings', () => {
  it('takes a flag over the environment over the default', () => {
    const defaults = parseStackSettings([], {}, '/repo');
    expect(defaults).toEqual({
      port: 8787,
      gpuPort: 5000,
      stateDir: '/repo/.dragflow-local',
      credits: 100000,
      shutdownGraceS: 5,
    });
    const settings = parseStackSettings(
      ['--port', '9000', '--state', '/tmp/s'],
      { DRAGFLOW_PORT: '9100', DRAGFLOW_GPU_PORT: '5100' },
      '/repo',
    );
    expect(settings).toMatchObject({ port: 9000, gpuPort: 5100, stateDir: '/tmp/s' });
  });

  it('names the setting and the source of a bad value', () => {
    expect(() => parseStackSettings(['--port', '70000'], {}, '/r')).toThrow(
      new StackSettingsError('--port "70000": must be an integer in [1, 65535]'),
    );
    expect(() => parseStackSettings([], { DRAGFLOW_GPU_PORT: 'x' }, '/r')).toThrow(
      'DRAGFLOW_GPU_PORT "x": must be an integer in [1, 65535]',
    );
    expect(() => parseStackSettings(['--port', '6000', '--gpu-port', '6000'], {}, '/r')).toThrow(
      '--port and --gpu-port are both 6000',
    );
    expect(() => parseStackSettings(['--colour'], {}, '/r')).toThrow(StackSettingsError);
    expect(stackHelp()).toContain('--gpu-port <value>  DRAGFLOW_GPU_PORT  (default 5000)');
  });
});

describe('ports', () => {
  it('tells a taken port from a free one, and who holds it', async () => {
    expect(await portProblem('127.0.0.1', takenPort)).toBe('is already in use');
    const holders = await portHolders(takenPort);
    expect(holders).toHaveLength(1);
    expect(holders[0]).toMatch(new RegExp(`^pid ${process.pid} \\(`));
    expect(await portProblem('127.0.0.1', await freePort())).toBeUndefined();
  });

  it('refuses to start on a taken port with a message naming port, setting and holder', async () => {
    const lines: string[] = [];
    const settings = { ...parseStackSettings([], {}, folder), port: takenPort, gpuPort: await freePort() };
    const code = await runStack(
      settings,
      folder,
      {},
      { out: () => undefined, log: (line) => lines.push(line) },
      new AbortController().signal,
    );
    expect(code).toBe(EXIT.badSetup);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `stack: error: port ${takenPort} on 127.0.0.1, for the edge (--port or DRAGFLOW_PORT), is already in use by pid ${process.pid} (`,
    );
    expect(lines[0]).toContain('choose another port: npm start -- --port <port>');
  });
});

describe('storage settings', () => {
  it('needs nothing for the local R2 store and names what S3 lacks', () => {
    expect(storageProblem({})).toBeUndefined();
    expect(storageProblem({ STORAGE: 'r2' })).toBeUndefined();
    expect(storageProblem({ STORAGE: 's3', S3_ENDPOINT: 'http://127.0.0.1:7480' })).toBe(
      'STORAGE=s3 needs S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY in the environment',
    );
    expect(storageProblem({ STORAGE: 'gcs' })).toBe('STORAGE="gcs": must be r2 (the default) or s3');
  });
});

describe('secrets', () => {
  it('makes them once, private to the user, and reuses them', async () => {
    const first = await loadOrCreateSecrets(folder);
    const second = await loadOrCreateSecrets(folder);
    expect(second).toEqual(first);
    expect(new Set(Object.values(first)).size).toBe(4);
    expect((await stat(join(folder, 'secrets.json'))).mode & 0o777).toBe(0o600);
  });

  it('writes an env file the edge reads, refusing values it cannot carry', async () => {
    const file = join(folder, 'edge.env');
    await writeEnvFile(file, { PUBLIC_URL: 'http://127.0.0.1:8787', S3_SECRET_ACCESS_KEY: 'a+b/c=#d' });
    expect(await readFile(file, 'utf8')).toBe(
      "PUBLIC_URL='http://127.0.0.1:8787'\nS3_SECRET_ACCESS_KEY='a+b/c=#d'\n",
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(() => dotenvLine('TOKEN', "it's")).toThrow('TOKEN: its value holds a quote or a line break');
  });
});

describe('banner', () => {
  const edge = 'http://127.0.0.1:8787';

  it('prints a first call that is a valid edit request, passed through a shell unchanged', () => {
    const request = firstEditRequest(edge);
    const parsed = parseEditRequest(request, {}, { allowLoopbackHttp: true });
    expect(parsed.ok).toBe(true);
    const curl = firstEditCurl(edge, 'dfk_test');
    const args = execFileSync('bash', ['-c', `printf '%s\\n' ${curl.slice('curl '.length)}`], {
      encoding: 'utf8',
    }).split('\n');
    expect(args.slice(0, 8)).toEqual([
      '-sS',
      `${edge}/v1/edits`,
      '-H',
      'Authorization: Bearer dfk_test',
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify(request),
    ]);
  });

  it('labels every value on its own line', () => {
    const text = banner({
      edgeUrl: edge,
      gpuUrl: 'http://127.0.0.1:5000',
      apiKey: 'dfk_test',
      credits: 100000,
      storage: 'r2',
      demoBundle: true,
    });
    expect(text).toContain(`\n  playground  ${edge}/#key=dfk_test\n`);
    expect(text).toContain(`\n  api         ${edge}/v1\n`);
    expect(text).toContain('\n  key         dfk_test\n');
    expect(text).toContain(`\n  curl        ${firstEditCurl(edge, 'dfk_test')}\n`);
  });
});
