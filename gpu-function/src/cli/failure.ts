/**
 * How a command reports a failure: one line `error <code>: <message>` on stderr (no stack trace
 * unless DRAGFLOW_DEBUG is set), with --json also one JSON document `{"error": {code, message}}` on
 * stdout, and the exit code of the table in command.ts.
 *
 * Contract errors carry a JSON path into the request (`operations[0].source.mask`); a command that
 * built the request from flags passes `describePath`, so the message names the flag the user typed
 * (`--mask m.png`) instead.
 */
import { type ContractError, formatPath, type Path } from '@dragflow/shared/errors';
import { BundleError } from '../bundle/errors.ts';
import { SampleFormatError } from '../formats/errors.ts';
import { InputError } from '../image/input-error.ts';
import { DeviceError } from '../pipeline/device.ts';
import { EditCanceled, EditRejected } from '../pipeline/errors.ts';
import { CliError, EXIT } from './command.ts';

export interface FailureOptions {
  json?: boolean;
  /** The flag (and file) a request path came from, e.g. ['operations', 0, 'target'] -> '--to'. */
  describePath?: (path: Path) => string | undefined;
  /** Extra advice per error code, appended in parentheses. */
  hints?: Partial<Record<string, string>>;
}

function contractMessage(error: ContractError, options: FailureOptions): string {
  const prefix = `${formatPath(error.path)}: `;
  const label = options.describePath?.(error.path);
  if (!label || !error.message.startsWith(prefix)) return error.message;
  return `${label}: ${error.message.slice(prefix.length)}`;
}

/** Code and message of a failure the user can fix; null for internal failures. */
function userFailure(error: unknown, options: FailureOptions): { code: string; message: string } | null {
  if (error instanceof EditRejected) {
    const first = error.errors[0]!;
    const more = error.errors.length > 1 ? ` (and ${error.errors.length - 1} more)` : '';
    return { code: first.code, message: `${contractMessage(first, options)}${more}` };
  }
  if (error instanceof InputError)
    return { code: error.code, message: contractMessage(error.error, options) };
  if (error instanceof CliError || error instanceof BundleError || error instanceof DeviceError)
    return { code: error.code, message: error.message };
  if (error instanceof SampleFormatError) {
    // Its message already starts with its code.
    const prefix = `${error.code}: `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    return { code: error.code, message };
  }
  return null;
}

function print(code: string, message: string, options: FailureOptions): void {
  process.stderr.write(`error ${code}: ${message}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
}

/** Reports `error` and returns the exit code. */
export function reportFailure(error: unknown, options: FailureOptions = {}): number {
  if (process.env.DRAGFLOW_DEBUG && error instanceof Error) {
    process.stderr.write(`${error.stack}\n${error.cause ? `cause: ${String(error.cause)}\n` : ''}`);
  }
  if (error instanceof EditCanceled) {
    print('canceled', `interrupted: ${error.message}; no output written`, options);
    return EXIT.interrupted;
  }
  const failure = userFailure(error, options);
  if (failure) {
    const hint = options.hints?.[failure.code];
    print(failure.code, hint ? `${failure.message} (${hint})` : failure.message, options);
    return EXIT.input;
  }
  print('internal', error instanceof Error ? error.message : String(error), options);
  return EXIT.internal;
}
