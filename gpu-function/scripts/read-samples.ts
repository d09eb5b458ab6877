/**
 * Reads every ReD Bench and DragBench sample folder under a directory, converts each to an edit
 * request and checks it against the public contract, and writes it back out with the format's
 * writer to check that it reads back equal; prints one line per sample and a summary.
 *
 *   npx tsx gpu-function/scripts/read-samples.ts <dir>
 *
 * Exit status: 0 when every sample was read and round-tripped, 1 otherwise, 2 on bad usage.
 * Contract rejections (e.g. more drags than the API allows) are listed but do not fail the run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { checkAgainstImage, type EditRequest, parseEditRequest } from '@dragflow/shared/edit-request';
import { readDragBenchSample, writeDragBenchSample } from '../src/formats/dragbench.ts';
import { dragBenchToEditRequest, redBenchToEditRequest } from '../src/formats/edit-request.ts';
import { readRedBenchSample, writeRedBenchSample } from '../src/formats/redbench.ts';
import { findSampleFolders, type SampleKind } from '../src/formats/sample-folders.ts';

interface Outcome {
  read: boolean;
  accepted: boolean;
}

function contractVerdict(request: EditRequest, width: number, height: number): string {
  const parsed = parseEditRequest(request);
  const checked = parsed.ok ? checkAgainstImage(parsed.value, { width, height }) : parsed;
  return checked.ok
    ? 'contract ok'
    : `contract rejects: ${checked.errors.map((error) => error.message).join('; ')}`;
}

/** Writes `sample` to a temporary folder and reads it back: 'round trip ok' when equal. */
async function roundTrip<T>(
  sample: T,
  write: (dir: string, sample: T) => Promise<void>,
  read: (dir: string) => Promise<T>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'dragflow-samples-'));
  try {
    await write(dir, sample);
    return isDeepStrictEqual(await read(dir), sample) ? 'round trip ok' : 'ROUND TRIP DIFFERS';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function describeSample(folder: string, kind: SampleKind): Promise<[string, Outcome]> {
  try {
    if (kind === 'redbench') {
      const sample = await readRedBenchSample(folder);
      const { width, height } = sample.image;
      const operations = sample.operations
        .map(({ task, begin, target, sourceMask }) => {
          const area = sourceMask.data.reduce((sum, value) => sum + value, 0);
          return `${task} (${begin.x},${begin.y})->(${target.x},${target.y}) region ${area} px`;
        })
        .join(', ');
      const verdict = contractVerdict(await redBenchToEditRequest(sample), width, height);
      const trip = await roundTrip(sample, writeRedBenchSample, readRedBenchSample);
      const line = `ReD Bench ${width}x${height}: ${operations}; ${sample.pointOperations.length} point ops; ${trip}; ${verdict}`;
      return [line, { read: trip === 'round trip ok', accepted: verdict === 'contract ok' }];
    }
    const sample = await readDragBenchSample(folder);
    const { width, height } = sample.image;
    const editable = sample.editableMask.data.reduce((sum, value) => sum + value, 0);
    const verdict = contractVerdict(await dragBenchToEditRequest(sample), width, height);
    const share = ((100 * editable) / (width * height)).toFixed(1);
    const trip = await roundTrip(
      sample,
      (dir, value) => writeDragBenchSample(dir, value),
      (dir) => readDragBenchSample(dir),
    );
    const line = `DragBench ${width}x${height}: ${sample.drags.length} drags, editable ${share}%, "${sample.prompt}"; ${trip}; ${verdict}`;
    return [line, { read: trip === 'round trip ok', accepted: verdict === 'contract ok' }];
  } catch (error) {
    return [`FAILED ${(error as Error).message}`, { read: false, accepted: false }];
  }
}

async function main(args: string[]): Promise<number> {
  const [root] = args;
  if (root === undefined || args.length !== 1) {
    process.stderr.write('usage: tsx gpu-function/scripts/read-samples.ts <dir>\n');
    return 2;
  }
  const folders = await findSampleFolders(root);
  let read = 0;
  let accepted = 0;
  for (const { dir: folder, kind } of folders) {
    const [line, outcome] = await describeSample(folder, kind);
    process.stdout.write(`${relative(root, folder) || '.'}: ${line}\n`);
    read += Number(outcome.read);
    accepted += Number(outcome.accepted);
  }
  process.stdout.write(
    `${folders.length} samples, ${read} read and round-tripped, ${folders.length - read} failed, ${accepted} accepted by the contract\n`,
  );
  return read === folders.length ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
