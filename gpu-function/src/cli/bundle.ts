import { parseArgs } from 'node:util';
import { BundleError } from '../bundle/errors.ts';
import { inspectBundle } from '../bundle/verify.ts';
import type { Command } from './main.ts';

const USAGE = [
  'usage:',
  '  dragflow bundle verify <dir> [--sizes-only]',
  '',
  'verify: checks manifest.json (integrity, format version, family, schema) and the size and sha256 of',
  '        every file; exits 0 when intact, 1 with one line per problem otherwise.',
].join('\n');

async function verify(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'sizes-only': { type: 'boolean', default: false } },
  });
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0) {
    process.stderr.write(`dragflow bundle verify: expected exactly one bundle directory\n${USAGE}\n`);
    return 2;
  }
  const report = await inspectBundle(dir, { depth: values['sizes-only'] ? 'sizes' : 'full' });
  if (report.manifest === null || report.problems.length > 0) {
    for (const problem of report.problems) process.stderr.write(`${problem.code}: ${problem.message}\n`);
    process.stderr.write(
      `dragflow bundle verify: ${dir} is NOT intact (${report.problems.length} problem(s))\n`,
    );
    return 1;
  }
  const { manifest } = report;
  const fileCount = Object.keys(manifest.files).length + 1;
  process.stdout.write(
    `${dir}: intact (${manifest.family}/${manifest.model}, ${fileCount} files, ` +
      `${report.bytesHashed} bytes hashed, licence ${manifest.licence.id}, ` +
      `commercial use ${manifest.licence.commercial_use ? 'allowed' : 'NOT allowed'})\n`,
  );
  if (manifest.notice !== undefined) process.stdout.write(`notice: ${manifest.notice}\n`);
  return 0;
}

const subcommands: Record<string, (args: string[]) => Promise<number>> = { verify };

/** `dragflow bundle <verify|build> ...`: model bundles. Bad input prints a message, never a stack trace. */
export const bundle: Command = {
  summary: 'build or verify a model bundle (manifest + ONNX graphs + external weights)',
  async run(args) {
    const [name, ...rest] = args;
    const sub = name === undefined ? undefined : subcommands[name];
    if (sub === undefined) {
      process.stderr.write(
        `${name === undefined ? '' : `dragflow bundle: unknown subcommand '${name}'\n`}${USAGE}\n`,
      );
      return 2;
    }
    try {
      return await sub(rest);
    } catch (error) {
      // Bad flags and refused bundles are the user's to fix: one line, no stack trace.
      const code = error instanceof BundleError ? error.code : ((error as { code?: string }).code ?? 'error');
      process.stderr.write(`dragflow bundle ${name}: ${code}: ${(error as Error).message}\n`);
      return 1;
    }
  },
};
