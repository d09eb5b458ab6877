import {
  buildFromCheckpoints,
  buildRandomBundle,
  RANDOM_CONFIGS,
  type RandomConfigName,
  RELEASED_MODELS,
  type ReleasedModel,
} from '../bundle/build.ts';
import { ensureDemoBundle } from '../bundle/demo.ts';
import { STORAGE_DTYPES } from '../bundle/manifest.ts';
import { inspectBundle } from '../bundle/verify.ts';
import { CliError, type Command, EXIT, EXIT_CODE_TABLE, parseFlags, wantsHelp } from './command.ts';
import { reportFailure } from './failure.ts';

const BUILD_USAGE = [
  'usage:',
  '  dragflow bundle build --from <weights dir> --model flux1-dev|flux1-schnell --out <dir>',
  '                        [--storage bfloat16|float16|float32]',
  '  dragflow bundle build --random --config tiny --seed <n> --out <dir>',
  '',
  '--from: converts <dir>/<model>.safetensors and <dir>/ae.safetensors (names, shapes and dtypes are',
  '        checked first), streaming every tensor into external-data files with bounded memory.',
  '--random: deterministic random weights for tests (no generative prior).',
].join('\n');

const VERIFY_USAGE = [
  'usage: dragflow bundle verify <dir> [--sizes-only]',
  '',
  'Checks manifest.json (integrity, format version, family, schema) and the size and sha256 of every',
  'file (--sizes-only: sizes only); exits 0 when intact, 2 with one line per problem otherwise.',
].join('\n');

const DEMO_USAGE = [
  'usage: dragflow bundle demo',
  '',
  "Prints the embedded demo bundle's folder, generating it on first use (in $DRAGFLOW_CACHE,",
  'default ~/.cache/dragflow).',
].join('\n');

const USAGE = [
  'usage: dragflow bundle build|verify|demo ... (dragflow bundle <subcommand> --help for each)',
  '',
  BUILD_USAGE,
  '',
  VERIFY_USAGE,
  '',
  DEMO_USAGE,
  '',
  EXIT_CODE_TABLE,
].join('\n');

/** Progress on stderr every this many weight bytes, so a 24 GB build is visibly alive. */
const PROGRESS_EVERY_BYTES = 1024 ** 3;

function usageError(message: string): never {
  throw new CliError('usage', `${message} (see dragflow bundle --help)`);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === value);
}

async function build(args: string[]): Promise<number> {
  const { values: flags } = parseFlags('bundle build', args, {
    from: { type: 'string' },
    model: { type: 'string' },
    random: { type: 'boolean' },
    config: { type: 'string' },
    seed: { type: 'string' },
    storage: { type: 'string' },
    out: { type: 'string' },
  });
  const values = flags as Partial<
    Record<'from' | 'model' | 'config' | 'seed' | 'storage' | 'out', string>
  > & {
    random?: boolean;
  };
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
  return EXIT.ok;
}

async function demo(args: string[]): Promise<number> {
  parseFlags('bundle demo', args, {});
  const started = performance.now();
  const { dir, built } = await ensureDemoBundle();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${dir}\n`);
  process.stderr.write(`demo bundle ${built ? 'generated' : 'verified'} in ${seconds} s\n`);
  return EXIT.ok;
}

async function verify(args: string[]): Promise<number> {
  const { positionals, values } = parseFlags('bundle verify', args, { 'sizes-only': { type: 'boolean' } }, 1);
  const [dir] = positionals;
  if (dir === undefined) return usageError('verify expects one bundle directory');
  const report = await inspectBundle(dir, { depth: values['sizes-only'] ? 'sizes' : 'full' });
  if (report.manifest === null || report.problems.length > 0) {
    for (const problem of report.problems) process.stderr.write(`${problem.code}: ${problem.message}\n`);
    process.stderr.write(
      `dragflow bundle verify: ${dir} is NOT intact (${report.problems.length} problem(s))\n`,
    );
    return EXIT.input;
  }
  const { manifest } = report;
  const fileCount = Object.keys(manifest.files).length + 1;
  process.stdout.write(
    `${dir}: intact (${manifest.family}/${manifest.model}, ${fileCount} files, ` +
      `${report.bytesHashed} bytes hashed, licence ${manifest.licence.id}, ` +
      `commercial use ${manifest.licence.commercial_use ? 'allowed' : 'NOT allowed'})\n`,
  );
  if (manifest.notice !== undefined) process.stdout.write(`notice: ${manifest.notice}\n`);
  return EXIT.ok;
}

const subcommands: Record<string, { run: (args: string[]) => Promise<number>; usage: string }> = {
  build: { run: build, usage: BUILD_USAGE },
  verify: { run: verify, usage: VERIFY_USAGE },
  demo: { run: demo, usage: DEMO_USAGE },
};

/**
 * `dragflow bundle <build|verify|demo> ...`: model bundles. Refused bundles and bad sources are the
 * user's to fix (BundleError, exit 2): one line, no stack trace.
 */
export const bundle: Command = {
  summary: 'build or verify a model bundle (manifest + ONNX graphs + external weights)',
  usage: USAGE,
  async run(args) {
    const [name, ...rest] = args;
    const sub = name === undefined ? undefined : subcommands[name];
    if (name === undefined || name === '--help' || name === '-h') {
      (name === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
      return name === undefined ? EXIT.input : EXIT.ok;
    }
    try {
      if (sub === undefined) usageError(`unknown subcommand '${name}'`);
      if (wantsHelp(rest)) {
        process.stdout.write(`${sub.usage}\n${EXIT_CODE_TABLE}\n`);
        return EXIT.ok;
      }
      return await sub.run(rest);
    } catch (error) {
      return reportFailure(error);
    }
  },
};
