/**
 * What every `dragflow` command shares: the exit-code table, the command shape, flag parsing with
 * messages in the CLI's own words, and `--help` / `-h`.
 *
 * Exit codes (the same for every command):
 *   0   success
 *   1   internal failure (a bug or an environment problem the user did not cause)
 *   2   usage error or bad input (flags, files, images, masks, bundles, budget)
 *   130 interrupted (Ctrl-C; nothing is written)
 */
import { parseArgs } from 'node:util';
import type { CliErrorCode, ErrorCode } from '@dragflow/shared/errors';

export const EXIT = Object.freeze({ ok: 0, internal: 1, input: 2, interrupted: 130 });

export const EXIT_CODE_TABLE =
  'exit codes: 0 success, 1 internal failure, 2 usage error or bad input, 130 interrupted (Ctrl-C)';

export interface CommandContext {
  /** Aborted on the first Ctrl-C (commands that can stop cleanly watch it). */
  signal: AbortSignal;
}

/** `dragflow <command> ...`: one entry per command; each command module owns its flags and help. */
export interface Command {
  summary: string;
  /** The command's help text (`dragflow help <command>`, `--help`). */
  usage: string;
  /** Stops cleanly on the first Ctrl-C (watches context.signal); others end at once with 130. */
  interruptible?: boolean;
  /** Returns the process exit code (EXIT). */
  run(args: string[], context: CommandContext): Promise<number>;
}

/** A failure the user can fix, found by the CLI itself: printed as `error <code>: <message>`, exit 2. */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode | ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** `-h` or `--help` anywhere before `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;
export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses flags; unknown options, missing values and stray arguments become CliError('usage') that
 * name the flag as typed and the help to read. A value that starts with '-' followed by a digit
 * (`--to -10,30`) is a value, not an option.
 */
export function parseFlags(
  command: string,
  args: readonly string[],
  spec: FlagSpec,
  maxPositionals = 0,
): { values: FlagValues; positionals: string[] } {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name && spec[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  const seeHelp = `(see dragflow ${command} --help)`;
  const { tokens } = parseArgs({
    args: joined,
    options: spec,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: FlagValues = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (positionals.length >= maxPositionals) {
        throw new CliError('usage', `unexpected argument '${token.value}' ${seeHelp}`);
      }
      positionals.push(token.value);
    } else if (token.kind === 'option') {
      const option = spec[token.name];
      if (!option) throw new CliError('usage', `unknown option ${token.rawName} ${seeHelp}`);
      if (option.type === 'string') {
        // Without '=', a value that looks like an option is the next option, not this one's value.
        const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith('-'));
        if (missing) throw new CliError('usage', `${token.rawName} needs a value ${seeHelp}`);
        values[token.name] = token.value;
      } else {
        if (token.inlineValue) throw new CliError('usage', `${token.rawName} takes no value ${seeHelp}`);
        values[token.name] = true;
      }
    }
  }
  return { values, positionals };
}
