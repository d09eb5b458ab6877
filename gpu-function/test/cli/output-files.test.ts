import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliError } from '../../src/cli/command.ts';
import { checkOutputs, writeOutputs } from '../../src/cli/output-files.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'output-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<[string, string]> {
  const error = (await promise.catch((e: unknown) => e)) as CliError;
  return [error.code, error.message];
}

describe('checkOutputs', () => {
  it('refuses the same path twice and an input, whatever the spelling', async () => {
    const a = join(dir, 'a.png');
    await writeFile(a, 'input');
    expect(
      await codeOf(
        checkOutputs(
          [{ flag: '--out', path: join(dir, 'sub', '..', 'a.png') }],
          [{ flag: '--image', path: a }],
          true,
        ),
      ),
    ).toEqual([
      'output_is_input',
      `--out ${join(dir, 'sub', '..', 'a.png')} is the input --image ${a}; the output never replaces an input, choose another path`,
    ]);
    const b = join(dir, 'b.png');
    expect(
      await codeOf(
        checkOutputs(
          [
            { flag: '--out', path: b },
            { flag: '--save-mask', path: b },
          ],
          [],
          false,
        ),
      ),
    ).toEqual(['output_is_input', `--save-mask and --out name the same file ${b}`]);
  });
});

describe('writeOutputs', () => {
  it('writes all files or none: a failing second file removes the first and every temporary file', async () => {
    const folder = join(dir, 'all-or-none');
    const first = join(folder, 'first.png');
    // checkOutputs passed, then a file appeared where the second output's folder must be created.
    await checkOutputs([{ flag: '--out', path: first }], [], false);
    await writeFile(join(dir, 'blocker'), 'x');
    const error = await codeOf(
      writeOutputs(
        [
          { flag: '--out', path: first, bytes: Uint8Array.of(1) },
          { flag: '--save-mask', path: join(dir, 'blocker', 'b.png'), bytes: Uint8Array.of(2) },
        ],
        false,
      ),
    );
    expect(error[0]).toBe('output_unwritable');
    expect(error[1]).toMatch(/^--save-mask \S*blocker\/b\.png: cannot be written \(E[A-Z]+\)$/);
    expect(await readdir(folder)).toEqual([]);
  });

  it('refuses to replace a file that appeared meanwhile without --force, and replaces it with --force', async () => {
    const path = join(dir, 'late.png');
    await checkOutputs([{ flag: '--out', path }], [], false);
    await writeFile(path, 'someone else');
    expect((await codeOf(writeOutputs([{ flag: '--out', path, bytes: Uint8Array.of(7) }], false)))[0]).toBe(
      'output_exists',
    );
    expect(await readFile(path, 'utf8')).toBe('someone else');
    await writeOutputs([{ flag: '--out', path, bytes: Uint8Array.of(7) }], true);
    expect([...(await readFile(path))]).toEqual([7]);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
