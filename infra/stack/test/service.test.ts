/**
 * Service: a process group started, watched and stopped as a whole. The fixture plays wrangler:
 * a leader that leaves a listening child behind unless the whole group is signalled.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { portProblem } from '../src/ports.ts';
import { describeExit, Service, type ServiceSpec } from '../src/service.ts';

const fixture = fileURLToPath(new URL('./fixtures/server-family.ts', import.meta.url));

function spec(args: string[], stopTimeoutMs: number): ServiceSpec {
  return {
    name: 'the fixture',
    tag: 'fixture',
    command: process.execPath,
    args: [fixture, ...args],
    env: process.env,
    cwd: process.cwd(),
    stopTimeoutMs,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startFamily(args: string[], stopTimeoutMs: number) {
  const lines: string[] = [];
  const service = await Service.start(spec(args, stopTimeoutMs), (line) => lines.push(line));
  const ready = await service.waitForLine(/^ready (\d+) (\d+) (\d+)$/);
  return {
    service,
    lines,
    ports: [Number(ready[1]), Number(ready[2])],
    childPid: Number(ready[3]),
  };
}

describe('Service', () => {
  it('stops the whole group with SIGTERM: leader, child and both ports', async () => {
    const { service, lines, ports, childPid } = await startFamily([], 10_000);
    expect(lines[0]).toMatch(/^\[fixture\] ready /);
    for (const port of ports) expect(await portProblem('127.0.0.1', port)).toBe('is already in use');
    const report = await service.stop();
    expect(report.graceful).toBe(true);
    expect(alive(service.pid)).toBe(false);
    expect(alive(childPid)).toBe(false);
    for (const port of ports) expect(await portProblem('127.0.0.1', port)).toBeUndefined();
    expect(describeExit(await service.exited)).toBe('was killed by SIGTERM');
  });

  it('kills a group member that ignores SIGTERM once the time limit has passed', async () => {
    const { service, ports, childPid } = await startFamily(['--ignore-term'], 300);
    const report = await service.stop();
    expect(report.graceful).toBe(false);
    expect(report.ms).toBeGreaterThanOrEqual(300);
    expect(alive(childPid)).toBe(false);
    for (const port of ports) expect(await portProblem('127.0.0.1', port)).toBeUndefined();
  });

  it('reports an exit it did not cause, with the last lines it printed', async () => {
    const service = await Service.start(
      {
        ...spec([], 1000),
        args: ['-e', "console.log('loading model'); console.error('fatal: out of memory'); process.exit(3)"],
      },
      () => undefined,
    );
    const exit = await service.exited;
    expect(describeExit(exit)).toBe('exited with code 3');
    expect(service.hasExited).toBe(true);
    expect(service.tail().sort()).toEqual(['fatal: out of memory', 'loading model']);
    expect((await service.stop()).graceful).toBe(true);
  });

  it('names the service when its executable cannot be started', async () => {
    await expect(
      Service.start({ ...spec([], 1000), command: '/nonexistent/dragflow' }, () => undefined),
    ).rejects.toThrow('cannot start the fixture: spawn /nonexistent/dragflow ENOENT');
  });
});
