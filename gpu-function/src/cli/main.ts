/**
 * `dragflow <command> ...`: the command table, `help`, `--version`, the exit codes of command.ts
 * for every command, and Ctrl-C: the first one asks the running edit to stop (exit 130, nothing
 * written), a second one ends the process at once (also 130).
 */
import { readFileSync } from 'node:fs';
import { type Command, EXIT, EXIT_CODE_TABLE } from './command.ts';
import { reportFailure } from './failure.ts';

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import('./demo.ts')).demo,
  edit: async () => (await import('./edit.ts')).edit,
  bundle: async () => (await import('./bundle.ts')).bundle,
  graph: async () => (await import('./graph.ts')).graph,
  serve: async () => (await import('./serve.ts')).serve,
};

export function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return `dragflow ${manifest.version} (node ${process.version})`;
}

async function usage(): Promise<string> {
  const names = [...Object.keys(commands), 'help'];
  const width = Math.max(...names.map((name) => name.length));
  const lines = await Promise.all(
    Object.entries(commands).map(
      async ([name, load]) => `  ${name.padEnd(width)}  ${(await load()).summary}`,
    ),
  );
  return [
    'usage: dragflow <command> [options]',
    '',
    'commands:',
    ...lines,
    `  ${'help'.padEnd(width)}  help [command]: this list, or a command's options`,
    '',
    'options: -h, --help (also after any command), --version',
    EXIT_CODE_TABLE,
  ].join('\n');
}

/** `dragflow help [command [subcommand]]`. */
async function help(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    process.stdout.write(`${await usage()}\n`);
    return EXIT.ok;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`error usage: no command '${name}' (see dragflow --help)\n`);
    return EXIT.input;
  }
  return (await load()).run([...rest, '--help'], { signal: new AbortController().signal });
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${await usage()}\n`);
    return EXIT.input;
  }
  if (name === '--help' || name === '-h') return help([]);
  if (name === 'help') return help(rest);
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`error usage: unknown command '${name}' (see dragflow --help)\n`);
    return EXIT.input;
  }
  const command = await load();
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted || !command.interruptible) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupting: stopping cleanly (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await command.run(rest, { signal: controller.signal });
  } catch (error) {
    // Commands report expected failures themselves; anything reaching here is a bug, said in one line.
    return reportFailure(error);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
