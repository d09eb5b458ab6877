/**
 * SIGTERM (what a process manager sends) stops the stack like Ctrl-C, here in the middle of its
 * start: the GPU function is loading and the edge's migrations run. Every process it started must
 * be gone afterwards. (Ctrl-C on a running stack: playground/test/local-stack.test.ts.)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { portProblem } from '../src/ports.ts';
import { freePort } from './support/free-port.ts';
import { processTree, stillRunning } from './support/process-tree.ts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

it('stops what it started when SIGTERM arrives during the start', async () => {
  const state = await mkdtemp(join(tmpdir(), 'dragflow-stack-signal-'));
  try {
    const ports = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [cli, '--port', String(ports[0]), '--gpu-port', String(ports[1]), '--state', state],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: string[] = [];
    const migrating = new Promise<void>((resolve) =>
      createInterface({ input: child.stderr }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('[migrate]')) resolve();
      }),
    );
    await migrating;
    const tree = await processTree(child.pid!);
    expect(tree.some((p) => p.command.includes('dragflow.js serve'))).toBe(true);
    expect(tree.some((p) => p.command.includes('d1 migrations apply'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stack = lines.filter((line) => line.startsWith('stack: '));
    expect(stack[0]).toMatch(/^stack: started the GPU function \(dragflow serve\), pid \d+$/);
    expect(stack).toContain('stack: SIGTERM received, stopping');
    expect(stack.at(-1)).toBe(`stack: everything stopped; ports ${ports[0]} and ${ports[1]} are free`);
    const left = [];
    for (const p of tree) if (await stillRunning(p)) left.push(p);
    expect(left).toEqual([]);
    for (const port of ports) expect(await portProblem('127.0.0.1', port)).toBeUndefined();
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});
