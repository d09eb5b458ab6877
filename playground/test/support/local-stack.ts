/**
 * `npm start` as a user runs it, for the end-to-end tests: started in a session of its own (as a
 * terminal would), its banner read as it is printed, its whole process tree and every port the
 * tree listens on recorded, so that after the stop each can be checked gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type ListeningSocket, listeningSockets, socketInodesOf } from '../../../stack/src/ports.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface Banner {
  playground: string;
  api: string;
  key: string;
  curl: string;
}

export interface StackProcess {
  readonly child: ChildProcess;
  readonly banner: Promise<Banner>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything printed on stderr so far. */
  readonly stderr: string[];
}

/** Starts `npm start -- <args>` in its own session; the banner resolves once printed. */
export function startStack(args: string[], env: NodeJS.ProcessEnv = {}): StackProcess {
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const banner = new Promise<Banner>((resolve, reject) => {
    const values: Record<string, string> = {};
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^ {2}(playground|api|key|curl) +(.+)$/.exec(line);
      if (match) values[match[1]!] = match[2]!;
      if (line === 'Ctrl-C stops everything.') resolve(values as unknown as Banner);
    });
    void exited.then(({ code, signal }) =>
      reject(
        new Error(`npm start exited (${code ?? signal}) before its banner:\n${stderr.slice(-30).join('\n')}`),
      ),
    );
  });
  return { child, banner, exited, stderr };
}

export interface TrackedProcess {
  readonly pid: number;
  /** Start time in clock ticks since boot: tells the process from a later one with its pid. */
  readonly start: string;
  readonly command: string;
}

async function stat(pid: number): Promise<{ ppid: number; start: string } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name sits in parentheses and may hold spaces: the fields follow the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** `root` and every process below it, as they are now. */
export async function processTree(root: number): Promise<TrackedProcess[]> {
  const parents = new Map<number, { ppid: number; start: string }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = await stat(Number(name));
    if (info) parents.set(Number(name), info);
  }
  const tree: TrackedProcess[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const info = parents.get(pid);
    if (!info) continue;
    const command = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
      .split('\0')
      .join(' ')
      .trim();
    tree.push({ pid, start: info.start, command });
    for (const [child, childInfo] of parents) if (childInfo.ppid === pid) queue.push(child);
  }
  return tree;
}

/** Whether this very process (same pid, same start time) still exists, zombies included. */
export async function stillRunning(process: TrackedProcess): Promise<boolean> {
  const info = await stat(process.pid);
  return info !== undefined && info.start === process.start;
}

/** The listening sockets these processes hold. */
export async function listeningSocketsOf(processes: TrackedProcess[]): Promise<ListeningSocket[]> {
  const held = new Set<string>();
  for (const { pid } of processes) for (const inode of await socketInodesOf(pid)) held.add(inode);
  return (await listeningSockets()).filter((socket) => held.has(socket.inode));
}

/** The ones among `sockets` that are still listening. */
export async function stillListening(sockets: ListeningSocket[]): Promise<ListeningSocket[]> {
  const now = new Set((await listeningSockets()).map((socket) => socket.inode));
  return sockets.filter((socket) => now.has(socket.inode));
}
