/**
 * Ports: whether one is free to listen on, and (Linux, best effort) which processes listen where,
 * read from /proc so a taken port can be blamed on its holder and a stopped stack can be checked.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';

/** Why `port` on `host` cannot be listened on, or undefined when it can (it is closed again at once). */
export function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('is already in use');
      else if (error.code === 'EACCES') resolve('may not be listened on by this user');
      else resolve(`cannot be listened on (${error.code ?? error.message})`);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

export interface ListeningSocket {
  readonly inode: string;
  readonly port: number;
}

/** Every TCP socket in LISTEN state on this machine (IPv4 and IPv6); empty where /proc is missing. */
export async function listeningSockets(): Promise<ListeningSocket[]> {
  const sockets: ListeningSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXADDR:HEXPORT, st 0A is LISTEN, the inode is the tenth field.
      if (fields.length < 10 || fields[3] !== '0A') continue;
      const port = Number.parseInt(fields[1]!.split(':')[1]!, 16);
      sockets.push({ inode: fields[9]!, port });
    }
  }
  return sockets;
}

/** Inodes of the sockets process `pid` holds open (empty when it is gone or not ours to read). */
export async function socketInodesOf(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = await readlink(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // The descriptor closed while we read the folder.
    }
  }
  return inodes;
}

/** Command line of a process, or undefined when it is gone. */
export async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

async function pids(): Promise<number[]> {
  try {
    return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

/** Processes (readable by this user) listening on `port`, as "pid N (command)". */
export async function portHolders(port: number): Promise<string[]> {
  const inodes = new Set((await listeningSockets()).filter((s) => s.port === port).map((s) => s.inode));
  if (inodes.size === 0) return [];
  const holders: string[] = [];
  for (const pid of await pids()) {
    const held = await socketInodesOf(pid);
    if ([...held].some((inode) => inodes.has(inode))) {
      const command = (await commandLineOf(pid)) ?? '?';
      holders.push(`pid ${pid} (${command.length > 80 ? `${command.slice(0, 77)}...` : command})`);
    }
  }
  return holders;
}
