/**
 * Edits of a real photo at 512x512, 1024x1024 and 2048x1024 (the contract's largest) on the demo
 * bundle with the default working size and budget, each in its own process so its peak RSS is its
 * own: wall time, peak RSS against the work plan's estimate, the crop and working size, and the
 * number of pixels outside B that differ from the input at full resolution (must be 0). Then one
 * edit with the memory budget lowered to 1 GiB: refused with over_budget before any model call.
 *
 * The photo is bench/photos/rocket.jpg (public domain, see its LICENSE.md) resized to each size; the
 * rocket (a polygon) is moved 15% of the width to the right.
 * Usage: `npm run bench:photos -- [--sizes 512x512,1024x1024,2048x1024] [--preset paper|fast]
 *         [--working-size <side>] [--keep <dir>]` (--keep writes each input and output there).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EditRequest } from '@dragflow/shared/edit-request';
import sharp from 'sharp';
import { decodeImage } from '../src/image/decode.ts';
import { runEdit } from '../src/pipeline/edit.ts';
import { EditRejected } from '../src/pipeline/errors.ts';

const PHOTO = new URL('./photos/rocket.jpg', import.meta.url).pathname;
const GIB = 1024 ** 3;

const flags = (() => {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: string) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
  };
  return {
    child: value('child', ''),
    sizes: value('sizes', '512x512,1024x1024,2048x1024'),
    preset: value('preset', 'paper') as 'paper' | 'fast',
    workingSize: value('working-size', ''),
    keep: value('keep', ''),
    budget: value('budget-gib', ''),
  };
})();

async function request(width: number, height: number): Promise<{ png: Buffer; request: EditRequest }> {
  const png = await sharp(PHOTO).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).png().toBuffer();
  // The rocket of the photo: a narrow box from a third of the height down to near the pad.
  const [x0, x1, y0, y1] = [0.47 * width, 0.53 * width, 0.3 * height, 0.93 * height];
  return {
    png,
    request: {
      image: { data: `data:image/png;base64,${png.toString('base64')}` },
      operations: [
        {
          kind: 'relocate',
          source: {
            polygons: [
              [
                [x0, y0],
                [x1, y0],
                [x1, y1],
                [x0, y1],
              ],
            ],
          },
          target: [0.65 * width, (y0 + y1) / 2],
        },
      ],
      options: { preset: flags.preset },
    },
  };
}

/** One edit in this process; prints one JSON line. */
async function child(size: string): Promise<void> {
  const [width, height] = size.split('x').map(Number) as [number, number];
  const { png, request: input } = await request(width, height);
  const started = performance.now();
  const seen = new Set<string>();
  const options = {
    onProgress: (event: { phase: string; step: number }) => seen.add(`${event.phase} ${event.step}`),
    ...(flags.workingSize ? { maxWorkingPixels: Number(flags.workingSize) ** 2 } : {}),
    ...(flags.budget ? { budget: { memoryBytes: Number(flags.budget) * GIB, seconds: 3600 } } : {}),
  };
  try {
    const result = await runEdit(input, options);
    const seconds = (performance.now() - started) / 1000;
    const before = await decodeImage(png);
    const after = await decodeImage(result.encoded);
    let outsideB = 0;
    let differ = 0;
    for (let p = 0; p < width * height; p++) {
      if (result.editableMask.data[p]) continue;
      outsideB++;
      const o = p * 3;
      if (
        before.rgb[o] !== after.rgb[o] ||
        before.rgb[o + 1] !== after.rgb[o + 1] ||
        before.rgb[o + 2] !== after.rgb[o + 2]
      )
        differ++;
    }
    if (flags.keep) {
      await mkdir(flags.keep, { recursive: true });
      await writeFile(join(flags.keep, `photo-${size}.png`), png);
      await writeFile(join(flags.keep, `edited-${size}.png`), result.encoded);
    }
    const m = result.metrics;
    console.log(
      JSON.stringify({
        size,
        seconds,
        peak: m.peak_rss_bytes,
        estimate: m.estimate,
        crop: m.working_crop,
        working: m.working_image,
        outsideB,
        differ,
      }),
    );
  } catch (error) {
    if (!(error instanceof EditRejected)) throw error;
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ size, seconds, refused: error.errors[0], progress: [...seen] }));
  }
}

async function parent(): Promise<void> {
  const run = promisify(execFile);
  const self = new URL(import.meta.url).pathname;
  const spawnChild = async (size: string, extra: string[] = []) => {
    const args = [...process.execArgv, self, '--child', size, '--preset', flags.preset, ...extra];
    if (flags.workingSize) args.push('--working-size', flags.workingSize);
    if (flags.keep) args.push('--keep', flags.keep);
    const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  };
  console.log(
    `demo bundle, preset ${flags.preset}, default budget (75% of this machine's memory), one process per size`,
  );
  console.log(
    'size        working   crop (x,y w x h)         wall s  peak RSS GiB  estimated GiB  est. s  outside B differing',
  );
  for (const size of flags.sizes.split(',')) {
    const r = await spawnChild(size);
    const crop = `${r.crop.x},${r.crop.y} ${r.crop.width}x${r.crop.height}`;
    console.log(
      `${size.padEnd(12)}${`${r.working.width}x${r.working.height}`.padEnd(10)}${crop.padEnd(25)}` +
        `${r.seconds.toFixed(1).padStart(6)}  ${(r.peak / GIB).toFixed(2).padStart(12)}  ` +
        `${(r.estimate.peak_memory_bytes / GIB).toFixed(2).padStart(13)}  ${r.estimate.seconds.toFixed(0).padStart(6)}  ` +
        `${r.differ} of ${r.outsideB}`,
    );
  }
  const largest = flags.sizes.split(',').at(-1)!;
  const refused = await spawnChild(largest, ['--budget-gib', '1']);
  console.log(
    `${largest} with a 1 GiB memory budget: ${refused.refused ? `refused after ${refused.seconds.toFixed(1)} s, progress seen: [${refused.progress.join(', ')}] (${refused.refused.code}: ${refused.refused.message})` : 'NOT refused'}`,
  );
}

await (flags.child ? child(flags.child) : parent());
