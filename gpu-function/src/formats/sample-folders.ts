/** Finding ReD Bench and DragBench sample folders under a directory (the benchmark scripts' input). */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DRAGBENCH_FILES } from './dragbench.ts';
import { REDBENCH_FILES } from './redbench.ts';

/** How deep below the given directory sample folders are looked for (DragBench: category/sample). */
export const MAX_SAMPLE_DEPTH = 4;

export type SampleKind = 'redbench' | 'dragbench';

/** Every sample folder under `dir` (itself included), sorted, with its format. */
export async function findSampleFolders(
  dir: string,
  depth = 0,
): Promise<{ dir: string; kind: SampleKind }[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
  if (names.has(REDBENCH_FILES.instruction)) return [{ dir, kind: 'redbench' }];
  if (names.has(DRAGBENCH_FILES.metadata)) return [{ dir, kind: 'dragbench' }];
  if (depth === MAX_SAMPLE_DEPTH) return [];
  const children = entries.filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  const nested = await Promise.all(children.sort().map((child) => findSampleFolders(child, depth + 1)));
  return nested.flat();
}
