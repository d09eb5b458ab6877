/**
 * `npm start` as a user runs it, for the end-to-end tests: started in a session of its own (as a
 * terminal would), its banner read as it is printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

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
