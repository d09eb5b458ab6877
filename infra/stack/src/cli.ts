/**
 * `npm start`: the whole service on this machine (stack.ts). Ctrl-C or SIGTERM stops it; further
 * signals while it stops are noted and ignored, so the stop stays in order (each service is killed
 * after its own time limit anyway).
 */
import { fileURLToPath } from 'node:url';
import { parseStackSettings, StackSettingsError, stackHelp } from './settings.ts';
import { EXIT, runStack } from './stack.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${stackHelp()}\n`);
    return EXIT.stopped;
  }
  let settings: ReturnType<typeof parseStackSettings>;
  try {
    settings = parseStackSettings(args, process.env, repoRoot);
  } catch (error) {
    if (!(error instanceof StackSettingsError)) throw error;
    log(`stack: error: ${error.message} (npm start -- --help lists the settings)`);
    return EXIT.badSetup;
  }
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stop.signal.aborted) log(`stack: ${signal} received; already stopping`);
      else stop.abort(signal);
    });
  }
  return runStack(
    settings,
    repoRoot,
    process.env,
    { out: (text) => process.stdout.write(text), log },
    stop.signal,
  );
}

process.exitCode = await main(process.argv.slice(2));
