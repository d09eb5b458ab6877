/**
 * The CLI's manners (issue 12 items 3 and 4): help on every command, --version, `help`, one exit-code
 * table (0, 1, 2, 130), --json printing exactly one JSON document, plain progress lines with an
 * overall percentage and time left when stderr is not a terminal, the demo's closing line, and
 * output files that never lose data (checked before any work, written atomically, --force).
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@dragflow/gpu-function/cli/main';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeDiskScene } from './scenes.ts';

const CLI = join(import.meta.dirname, '../../gpu-function/bin/dragflow.js');

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-manners-'));
  await writeDiskScene(file);
  await writeFile(file('a-file'), 'not a folder');
  await mkdir(file('taken.png'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with stdout and stderr piped (not terminals); `onStderr` may act on what it reads. */
function cli(
  args: string[],
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DRAGFLOW_CACHE: dir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const edit = (...extra: string[]) => [
  'edit',
  '--image',
  file('image.png'),
  '--mask',
  file('mask.png'),
  '--op',
  'relocate',
  '--to',
  '44,28',
  '--preset',
  'fast',
  ...extra,
];

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('help, version and usage (in process)', () => {
  let out: string[];
  let err: string[];
  afterEach(() => {
    vi.restoreAllMocks();
  });
  function capture() {
    out = [];
    err = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(
      (chunk: string | Uint8Array) => out.push(String(chunk)) > 0,
    );
    vi.spyOn(process.stderr, 'write').mockImplementation(
      (chunk: string | Uint8Array) => err.push(String(chunk)) > 0,
    );
  }

  it.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['help', 'edit']],
    [['help', 'bundle', 'verify']],
    [['demo', '--help']],
    [['edit', '-h']],
    [['edit', '--image', 'x.png', '--help']],
    [['bundle', '--help']],
    [['bundle', 'build', '--help']],
    [['bundle', 'verify', '-h']],
    [['bundle', 'demo', '--help']],
    [['graph', '--help']],
    [['graph', 'ops', '--help']],
  ])('%j prints usage and the exit codes on stdout, exit 0', async (args) => {
    capture();
    expect(await main(args)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/^usage:\s+dragflow/);
    expect(text).toContain(
      'exit codes: 0 success, 1 internal failure, 2 usage error or bad input, 130 interrupted',
    );
    expect(err.join('')).toBe('');
  });

  it('prints the version, and refuses no command or an unknown one with exit 2', async () => {
    capture();
    expect(await main(['--version'])).toBe(0);
    expect(out.join('')).toMatch(/^dragflow 0\.1\.0 \(node v24\.\d+\.\d+\)\n$/);
    capture();
    expect(await main([])).toBe(2);
    expect(err.join('')).toMatch(/^usage: dragflow/);
    capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(err.join('')).toBe("error usage: unknown command 'frobnicate' (see dragflow --help)\n");
    capture();
    expect(await main(['demo', '--colour', 'red'])).toBe(2);
    expect(err.join('')).toBe('error usage: unknown option --colour (see dragflow demo --help)\n');
  });
});

describe('dragflow demo --json (a real process, stderr a pipe)', () => {
  let run: Run;
  beforeAll(async () => {
    run = await cli(['demo', '--preset', 'fast', '--json', '--out', file('demo')]);
  }, 120_000);

  it('prints exactly one JSON document on stdout: the metrics and the file paths', () => {
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.transformer_calls).toBe(53);
    expect(doc.files).toEqual({
      input: file('demo/input.png'),
      mask: file('demo/mask.png'),
      edited: file('demo/edited.png'),
      editable_mask: file('demo/editable-mask.png'),
    });
  });

  it('reports progress as plain lines: one overall percentage, rising to 100, with time left', () => {
    const lines = run.stderr.split('\n').filter((line) => line.startsWith('progress '));
    const parsed = lines.map((line) =>
      /^progress (\d+)% \((\d+ s|\d+ min \d\d s) left\): ([a-z]+) \d+\/\d+/.exec(line),
    );
    expect(parsed.every((m) => m !== null)).toBe(true);
    const percents = parsed.map((m) => Number(m![1]));
    expect(percents.length).toBeGreaterThanOrEqual(20);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect(new Set(parsed.map((m) => m![3]))).toEqual(
      new Set(['preparing', 'inverting', 'transport', 'intensify', 'sampling', 'decoding', 'encoding']),
    );
  });

  it("ends with the demo bundle's nature", () => {
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^note: model demo has no generative prior: expect 8x8 block mosaics and ghost copies/,
    );
  });
});

describe('output files', () => {
  it('never replaces an input, even with --force, and refuses before any work', async () => {
    const before = await sha(file('image.png'));
    const run = await cli(edit('--out', file('image.png'), '--force'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error output_is_input: --out \S*image\.png is the input --image \S*image\.png; the output never replaces an input/,
    );
    expect(run.stderr).not.toContain('progress');
    expect(await sha(file('image.png'))).toBe(before);
  });

  it('refuses an existing output without --force and replaces it with --force', async () => {
    await writeFile(file('existing.png'), 'mine');
    const refused = await cli(edit('--out', file('existing.png')));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `error output_exists: --out ${file('existing.png')}: exists; add --force to replace it\n`,
    );
    expect(await readFile(file('existing.png'), 'utf8')).toBe('mine');
    const replaced = await cli(edit('--out', file('existing.png'), '--force'));
    expect(replaced.code).toBe(0);
    expect((await sharp(await readFile(file('existing.png'))).metadata()).width).toBe(64);
  }, 120_000);

  it.each([
    [
      'a parent that is a file',
      () => ['--out', join(file('a-file'), 'out.png')],
      /: \S*a-file is a file, not a folder$/,
    ],
    [
      'a folder named like the file',
      () => ['--out', file('taken.png')],
      /taken\.png: is a folder; give a file path$/,
    ],
    [
      'a --save-mask that cannot be written',
      () => ['--out', file('never.png'), '--save-mask', join(file('a-file'), 'b.png')],
      /^error output_unwritable: --save-mask /,
    ],
  ])('refuses %s before any work, writing nothing', async (_name, args, message) => {
    const run = await cli(edit(...args()));
    expect(run.code).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error output_unwritable: /);
    expect(lines[0]).toMatch(message);
    await expect(stat(file('never.png'))).rejects.toThrow(/ENOENT/);
  });

  it('--json prints one error document on failure', async () => {
    const run = await cli(edit('--out', file('image.png'), '--json'));
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'output_is_input',
        message: `--out ${file('image.png')} is the input --image ${file('image.png')}; the output never replaces an input, choose another path`,
      },
    });
  });

  it('stops on Ctrl-C with exit 130 and writes nothing', async () => {
    let sent = false;
    const run = await cli(edit('--out', file('interrupted.png')), (text, child) => {
      if (!sent && /progress \d+% .*: inverting/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(
      /error canceled: interrupted: the edit was canceled after \d+ transformer calls; no output written\n$/,
    );
    await expect(stat(file('interrupted.png'))).rejects.toThrow(/ENOENT/);
  }, 120_000);
});
