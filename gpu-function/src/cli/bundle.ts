import { parseArgs } from 'node:util';
import {
  buildFromCheckpoints,
  buildRandomBundle,
  RANDOM_CONFIGS,
  type RandomConfigName,
  RELEASED_MODELS,
  type ReleasedModel,
} from '../bundle/build.ts';
import { ensureDemoBundle } from '../bundle/demo.ts';
import { BundleError } from '../bundle/errors.ts';
import { STORAGE_DTYPES } from '../bundle/manifest.ts';
import { inspectBundle } from '../bundle/verify.ts';
import type { Command } from './main.ts';

const USAGE = [
  'usage:',
  '  dragflow bundle build --from <weights dir> --model flux1-dev|flux1-schnell --out <dir>',
  '                        [--storage bfloat16|float16|float32]',
  '  dragflow bundle build --random --config tiny --seed <n> --out <dir>',
  '  dragflow bundle verify <dir> [--sizes-only]',
  '  dragflow bundle demo',
  '',
  'build --from: converts <dir>/<model>.safetensors and <dir>/ae.safetensors (names, shapes and dtypes are',
  '        checked first), streaming every tensor into external-data files with bounded memory.',
  'build --random: deterministic random weights for tests (no generative prior).',
  'verify: checks manifest.json (integrity, format version, family, schema) and the size and sha256 of',
  '        every file; exits 0 when intact, 1 with one line per problem otherwise.',
  "demo:  prints the embedded demo bundle's folder, generating it on first use",
  '       (in $DRAGFLOW_CACHE, default ~/.cache/dragflow).',
].join('\n');

/** Progress on stderr every this many weight bytes, so a 24 GB build is visibly alive. */
const PROGRESS_EVERY_BYTES = 1024 ** 3;

function usageError(message: string): number {
  process.stderr.write(`dragflow bundle: ${message}\n${USAGE}\n`);
  return 2;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === value);
}

async function build(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      model: { type: 'string' },
      random: { type: 'boolean', default: false },
      config: { type: 'string' },
      seed: { type: 'string' },
      storage: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.out === undefined) return usageError('build needs --out <dir>');
  let streamed = 0;
  let reported = 0;
  const onTensor = (_file: string, _name: string, bytes: number) => {
    streamed += bytes;
    if (streamed - reported >= PROGRESS_EVERY_BYTES) {
      reported = streamed;
      process.stderr.write(`  ${(streamed / 1024 ** 3).toFixed(1)} GiB of weights written\n`);
    }
  };
  let result: Awaited<ReturnType<typeof buildRandomBundle>>;
  if (values.random) {
    if (values.from !== undefined || values.model !== undefined)
      return usageError('--random excludes --from and --model');
    const config = oneOf(values.config, Object.keys(RANDOM_CONFIGS) as RandomConfigName[]);
    if (config === undefined)
      return usageError(`--config must be one of: ${Object.keys(RANDOM_CONFIGS).join(', ')}`);
    const seed = Number(values.seed);
    if (values.seed === undefined || !/^\d+$/.test(values.seed) || seed > 0xffffffff) {
      return usageError('--seed must be an integer in [0, 4294967295]');
    }
    result = await buildRandomBundle(config, seed, values.out, { onTensor });
  } else {
    if (values.from === undefined) return usageError('build needs --from <weights dir> or --random');
    const model = oneOf(values.model, Object.keys(RELEASED_MODELS) as ReleasedModel[]);
    if (model === undefined)
      return usageError(`--model must be one of: ${Object.keys(RELEASED_MODELS).join(', ')}`);
    const storage = values.storage === undefined ? 'bfloat16' : oneOf(values.storage, STORAGE_DTYPES);
    if (storage === undefined) return usageError(`--storage must be one of: ${STORAGE_DTYPES.join(', ')}`);
    result = await buildFromCheckpoints(values.from, model, values.out, { storage, onTensor });
  }
  const files = Object.keys(result.body.files).length + 1;
  process.stdout.write(
    `${values.out}: ${result.body.family}/${result.body.model} bundle written (${files} files, ` +
      `${result.weightBytes} weight bytes, graphs: ${result.body.graphs.map((g) => g.name).join(', ')})\n`,
  );
  return 0;
}

async function demo(args: string[]): Promise<number> {
  if (args.length > 0) return usageError(`demo takes no arguments, got '${args[0]}'`);
  const started = performance.now();
  const { dir, built } = await ensureDemoBundle();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${dir}\n`);
  process.stderr.write(`demo bundle ${built ? 'generated' : 'verified'} in ${seconds} s\n`);
  return 0;
}

async function verify(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'sizes-only': { type: 'boolean', default: false } },
  });
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0) return usageError('verify expects exactly one bundle directory');
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

const subcommands: Record<string, (args: string[]) => Promise<number>> = { build, verify, demo };

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
      const errorCode = (error as { code?: string }).code;
      if (errorCode?.startsWith('ERR_PARSE_ARGS_')) return usageError((error as Error).message);
      // Refused bundles and bad sources are the user's to fix: one line, no stack trace.
      const code = error instanceof BundleError ? error.code : ((error as { code?: string }).code ?? 'error');
      process.stderr.write(`dragflow bundle ${name}: ${code}: ${(error as Error).message}\n`);
      return 1;
    }
  },
};
