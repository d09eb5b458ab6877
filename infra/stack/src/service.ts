/**
 * One process the stack runs, in a process group of its own (a new session, so a terminal's
 * Ctrl-C reaches only the stack, which then stops its services in order). Stopping signals the
 * whole group, because wrangler leaves workerd children that hold ports when only its own process
 * is killed; the group is waited for until no member is left, and killed after a time limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServiceSpec {
  /** Name used in messages, e.g. "the edge (wrangler dev)". */
  readonly name: string;
  /** Prefix of its output lines, e.g. "edge". */
  readonly tag: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** How long the group may take to end after SIGTERM before it is killed. */
  readonly stopTimeoutMs: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export function describeExit(exit: Exit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

export interface StopReport {
  /** The group ended within the time limit after SIGTERM. */
  readonly graceful: boolean;
  readonly ms: number;
}

/** Output lines kept for the message when a service fails. */
const TAIL_LINES = 30;
/** How often a stopping group is checked for members left. */
const GROUP_POLL_MS = 50;
/** How long SIGKILLed members may take to disappear. */
const KILL_WAIT_MS = 5000;

export class Service {
  readonly spec: ServiceSpec;
  readonly pid: number;
  /** Resolves when the group leader exits (reaped), whoever caused it. */
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly recent: string[] = [];
  private readonly watchers = new Set<(line: string) => void>();
  private stopping: Promise<StopReport> | undefined;

  private constructor(spec: ServiceSpec, child: ChildProcess, log: (line: string) => void) {
    this.spec = spec;
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
        this.recent.push(line);
        if (this.recent.length > TAIL_LINES) this.recent.shift();
        log(`[${spec.tag}] ${line}`);
        for (const watcher of this.watchers) watcher(line);
      });
    }
  }

  /** Starts the process; rejects when it cannot be spawned at all (missing executable). */
  static start(spec: ServiceSpec, log: (line: string) => void): Promise<Service> {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`cannot start ${spec.name}: ${error.message}`)));
      child.once('spawn', () => resolve(new Service(spec, child, log)));
    });
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** The last lines it printed, oldest first. */
  tail(): string[] {
    return [...this.recent];
  }

  /** Resolves with the first output line `pattern` matches (seen from now on). */
  waitForLine(pattern: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve) => {
      const watcher = (line: string) => {
        const match = pattern.exec(line);
        if (!match) return;
        this.watchers.delete(watcher);
        resolve(match);
      };
      this.watchers.add(watcher);
    });
  }

  /** Whether any process of its group is left (the leader or what it started). */
  groupAlive(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch (error) {
      // EPERM: a member exists that we may not signal; it still counts as alive.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is already empty.
    }
  }

  private async groupGone(deadline: number): Promise<boolean> {
    while (this.groupAlive()) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, GROUP_POLL_MS));
    }
    return true;
  }

  /** SIGTERM to the group, then SIGKILL after the time limit; resolves once no member is left. */
  stop(): Promise<StopReport> {
    this.stopping ??= (async () => {
      const started = Date.now();
      this.signalGroup('SIGTERM');
      const graceful = await this.groupGone(started + this.spec.stopTimeoutMs);
      if (!graceful) {
        this.signalGroup('SIGKILL');
        // Bounded: members that became zombies of a parent that never reaps them stay listed.
        await this.groupGone(Date.now() + KILL_WAIT_MS);
      }
      await this.exited;
      return { graceful, ms: Date.now() - started };
    })();
    return this.stopping;
  }
}
