/**
 * Output files that never lose data:
 * - every output path is checked BEFORE any work: not an input file (even with --force), not named
 *   twice, not an existing file unless --force, not a folder, and its folder can be created and
 *   written;
 * - outputs are written only after the work succeeded, each first to a temporary file next to it,
 *   then all moved into place (rename with --force; without it a hard link, which refuses to replace
 *   a file that appeared meanwhile). If any step fails, the temporary files are removed, and so are
 *   the outputs this run already created (without --force; with it they replaced files, and the new
 *   content is all there is), so a failed run leaves nothing half-written.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, link, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './command.ts';

export interface NamedPath {
  /** The flag it came from, as typed (e.g. --out). */
  flag: string;
  path: string;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    // ENOTDIR: a file stands where a folder of the path should be; checkFolder names it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Checks one output's folder: the nearest existing ancestor must be a folder we may write in. */
async function checkFolder(output: NamedPath): Promise<void> {
  let folder = dirname(resolve(output.path));
  for (;;) {
    const found = await statOrNull(folder);
    if (found) {
      if (!found.isDirectory()) {
        throw new CliError(
          'output_unwritable',
          `${output.flag} ${output.path}: ${folder} is a file, not a folder`,
        );
      }
      try {
        await access(folder, constants.W_OK);
      } catch {
        throw new CliError(
          'output_unwritable',
          `${output.flag} ${output.path}: no permission to write in ${folder}`,
        );
      }
      return;
    }
    const parent = dirname(folder);
    if (parent === folder) return;
    folder = parent;
  }
}

/** Refuses outputs that would lose or clobber data; see the module comment. */
export async function checkOutputs(outputs: NamedPath[], inputs: NamedPath[], force: boolean): Promise<void> {
  const inputStats = await Promise.all(
    inputs.map(async (input) => ({ input, stats: await statOrNull(input.path) })),
  );
  const seen = new Map<string, NamedPath>();
  for (const output of outputs) {
    const absolute = resolve(output.path);
    const twice = seen.get(absolute);
    if (twice) {
      throw new CliError(
        'output_is_input',
        `${output.flag} and ${twice.flag} name the same file ${output.path}`,
      );
    }
    seen.set(absolute, output);
    const existing = await statOrNull(absolute);
    for (const { input, stats } of inputStats) {
      if (resolve(input.path) === absolute || (existing && stats && sameFile(existing, stats))) {
        throw new CliError(
          'output_is_input',
          `${output.flag} ${output.path} is the input ${input.flag} ${input.path}; the output never replaces an input, choose another path`,
        );
      }
    }
    if (existing?.isDirectory()) {
      throw new CliError('output_unwritable', `${output.flag} ${output.path}: is a folder; give a file path`);
    }
    if (existing && !force) {
      throw new CliError('output_exists', `${output.flag} ${output.path}: exists; add --force to replace it`);
    }
    await checkFolder(output);
  }
}

export interface OutputFile extends NamedPath {
  bytes: Uint8Array;
}

/** `placing`: the error came from moving the finished file into place (EEXIST: someone else's file). */
function writeFailure(file: NamedPath, error: unknown, placing: boolean): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  if (placing && code === 'EEXIST') {
    return new CliError(
      'output_exists',
      `${file.flag} ${file.path}: a file appeared there while the edit ran; add --force to replace it`,
    );
  }
  const why =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : `cannot be written (${code ?? (error as Error).message})`;
  return new CliError('output_unwritable', `${file.flag} ${file.path}: ${why}`);
}

/** Writes every file atomically, all or none (see the module comment). */
export async function writeOutputs(files: OutputFile[], force: boolean): Promise<void> {
  const temporary: string[] = [];
  const placed: string[] = [];
  let current: NamedPath | undefined;
  let placing = false;
  try {
    const staged: { file: OutputFile; temp: string }[] = [];
    for (const file of files) {
      current = file;
      const path = resolve(file.path);
      await mkdir(dirname(path), { recursive: true });
      const temp = join(
        dirname(path),
        `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
      );
      temporary.push(temp);
      await writeFile(temp, file.bytes, { flag: 'wx' });
      staged.push({ file, temp });
    }
    placing = true;
    for (const { file, temp } of staged) {
      current = file;
      const path = resolve(file.path);
      if (force) {
        await rename(temp, path);
      } else {
        await link(temp, path);
        await unlink(temp);
      }
      temporary.splice(temporary.indexOf(temp), 1);
      placed.push(path);
    }
  } catch (error) {
    const created = force ? [] : placed;
    await Promise.all([...temporary, ...created].map((path) => unlink(path).catch(() => undefined)));
    throw current ? writeFailure(current, error, placing) : error;
  }
}
