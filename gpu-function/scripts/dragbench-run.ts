/**
 * Runs the edit of every DragBench sample under a folder on a bundle and reports, per sample, the
 * share of pixels outside the sample's editable mask that the edit changed (0 by default: B stays
 * inside the mask; with --grow-editable-mask, B may grow beyond it and the share says by how much).
 *
 *   npx tsx gpu-function/scripts/dragbench-run.ts <dir> [--preset paper|fast] [--working-size <side>]
 *       [--grow-editable-mask] [--bundle <dir>]
 *
 * Exit status: 0 when every sample was edited, 1 otherwise, 2 on bad usage.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { readDragBenchSample } from '../src/formats/dragbench.ts';
import { dragBenchToEditRequest } from '../src/formats/edit-request.ts';
import { findSampleFolders } from '../src/formats/sample-folders.ts';
import { runEdit } from '../src/pipeline/edit.ts';
import { ModelCache } from '../src/pipeline/model-cache.ts';

const USAGE =
  'usage: tsx gpu-function/scripts/dragbench-run.ts <dir> [--preset paper|fast] [--working-size <side>] [--grow-editable-mask] [--bundle <dir>]\n';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      preset: { type: 'string', default: 'paper' },
      'working-size': { type: 'string' },
      'grow-editable-mask': { type: 'boolean', default: false },
      bundle: { type: 'string' },
    },
  });
  const preset = values.preset;
  if (positionals.length !== 1 || (preset !== 'paper' && preset !== 'fast')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const root = positionals[0]!;
  const side = values['working-size'] === undefined ? undefined : Number(values['working-size']);
  const folders = (await findSampleFolders(root)).filter((folder) => folder.kind === 'dragbench');
  const models = new ModelCache();
  let edited = 0;
  let worst = 0;
  process.stdout.write(
    `${folders.length} DragBench samples, preset ${preset}, B ${values['grow-editable-mask'] ? 'may grow beyond' : 'kept inside'} the editable mask\n`,
  );
  for (const { dir } of folders) {
    const name = relative(root, dir) || '.';
    try {
      const request = await dragBenchToEditRequest(await readDragBenchSample(dir));
      request.options = { preset, grow_editable_mask: values['grow-editable-mask'] };
      const { metrics: m } = await runEdit(request, {
        models,
        ...(side === undefined ? {} : { maxWorkingPixels: side * side }),
        ...(values.bundle === undefined ? {} : { bundleDir: values.bundle }),
      });
      const outside = m.outside_editable_mask!;
      worst = Math.max(worst, outside.share);
      edited++;
      process.stdout.write(
        `${name}: ${m.image.width}x${m.image.height} working ${m.working_image.width}x${m.working_image.height}, ` +
          `changed outside the mask ${outside.changed} of ${outside.pixels} px (${(outside.share * 100).toFixed(2)}%), ` +
          `${m.total_seconds.toFixed(1)} s\n`,
      );
    } catch (error) {
      process.stdout.write(`${name}: FAILED ${(error as Error).message}\n`);
    }
  }
  await models.release();
  process.stdout.write(
    `${edited} of ${folders.length} edited; largest share of changed pixels outside the editable mask: ${(worst * 100).toFixed(2)}%\n`,
  );
  return edited === folders.length ? 0 : 1;
}

process.exitCode = await main();
