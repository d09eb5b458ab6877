/**
 * A process tree and the ports it listens on, recorded while it runs so that after a stop each
 * process (by pid and start time) and each listening socket (by inode) can be checked gone.
 */
import { readdir, readFile } from 'node:fs/promises';
import { type ListeningSocket, listeningSockets, socketInodesOf } from '../../src/ports.ts';

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
