/** `dragflow <command> ...`: one entry per command; each command module owns its flags and help. */
export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import('./demo.ts')).demo,
  edit: async () => (await import('./edit.ts')).edit,
  bundle: async () => (await import('./bundle.ts')).bundle,
  graph: async () => (await import('./graph.ts')).graph,
  serve: async () => (await import('./serve.ts')).serve,
};

async function usage(): Promise<string> {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = await Promise.all(
    Object.entries(commands).map(
      async ([name, load]) => `  ${name.padEnd(width)}  ${(await load()).summary}`,
    ),
  );
  return ['usage: dragflow <command> [options]', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${await usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`dragflow: unknown command '${name}'\n${await usage()}\n`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    // Commands report expected failures themselves; anything reaching here is a bug, said in one line.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error internal: ${message}\n`);
    if (process.env.DRAGFLOW_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : ''}\n`);
    return 1;
  }
}
