/** `dragflow <command> ...`: one entry per command; each command module owns its flags and help. */
export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import('./demo.ts')).demo,
  bundle: async () => (await import('./bundle.ts')).bundle,
  graph: async () => (await import('./graph.ts')).graph,
  edit: async () => (await import('./edit.ts')).edit,
};

function usage(): string {
  const lines = Object.keys(commands).map((name) => `  dragflow ${name}`);
  return ['usage: dragflow <command> [options]', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`dragflow: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  return (await load()).run(rest);
}
