/**
 * `dragflow serve`: the GPU function, a Cog-compatible prediction server (gpu-function/src/server/).
 * The container's entrypoint runs this same command. Settings: `dragflow serve --help`
 * (server/settings.ts). Prints `listening on <url>` on stdout once the port is open; logs go to
 * stderr. SIGTERM, SIGINT and POST /shutdown shut it down gracefully, then it exits 0.
 */
import { startServer } from '../server/server.ts';
import { parseSettings, SettingsError, settingsHelp } from '../server/settings.ts';
import type { Command } from './command.ts';

/** How long the process may linger after a complete shutdown before it exits regardless. */
const EXIT_AFTER_SHUTDOWN_MS = 5_000;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export const serve: Command = {
  summary: 'serve the Cog-compatible prediction API (the GPU function) on a bundle or the demo bundle',
  get usage() {
    return settingsHelp();
  },
  // The first Ctrl-C shuts the server down gracefully (below); a second one ends it at once.
  interruptible: true,
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`${settingsHelp()}\n`);
      return 0;
    }
    let settings: ReturnType<typeof parseSettings>;
    try {
      settings = parseSettings(args);
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      process.stderr.write(
        `error invalid_value: ${error.message}\n(dragflow serve --help lists the settings)\n`,
      );
      return 2;
    }
    const server = await startServer(settings, log);
    process.stdout.write(`listening on ${server.url}\n`);
    const reason = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
      void server.shutdownRequested.then(resolve);
    });
    await server.shutdown(reason);
    // Shutdown is complete: a handle some library left open must not keep the container alive.
    setTimeout(() => process.exit(0), EXIT_AFTER_SHUTDOWN_MS).unref();
    return 0;
  },
};
