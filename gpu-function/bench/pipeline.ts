/**
 * Wall time of one DragFlow edit on the embedded demo bundle at 256x256 and 512x512 (the paper's
 * 25 steps, 50 + 20 drag iterations), and the share of it spent outside onnxruntime calls (host
 * work: warps, blending, packing, feeds; target <= 5%). Each size runs one cold edit (graphs built,
 * sessions opened) and then warm edits on the same sessions, as a worker serving edits does.
 * Usage: `npm run bench:pipeline -- [--sizes 256,512] [--warm 1]`.
 */
import { parseArgs } from 'node:util';
import type { EditRequest } from '@dragflow/shared/edit-request';
import { encodeImage } from '../src/image/encode.ts';
import { runEdit } from '../src/pipeline/edit.ts';
import { ModelCache } from '../src/pipeline/model-cache.ts';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '256,512' }, warm: { type: 'string', default: '1' } },
});
const sizes = values.sizes.split(',').map(Number);
const warmRuns = Number(values.warm);

/** A red ball on a grey-green ground, moved a quarter of the image to the right. */
async function request(size: number): Promise<EditRequest> {
  const rgb = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size * 3);
  const c = size * (5 / 16) - 0.5;
  const radius = size / 8;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = Math.hypot(x - c, y - c) <= radius;
      rgb.set(inside ? [215, 45, 40] : [90, 110 + (y * 60) / size, 90], (y * size + x) * 3);
      mask.set(inside ? [255, 255, 255] : [0, 0, 0], (y * size + x) * 3);
    }
  }
  const uri = async (data: Uint8Array) =>
    `data:image/png;base64,${(await encodeImage(data, size, size, { format: 'png' })).toString('base64')}`;
  return {
    image: { data: await uri(rgb) },
    operations: [
      {
        kind: 'relocate',
        source: { mask: { data: await uri(mask) } },
        target: [c + 0.5 + size / 4, c + 0.5],
      },
    ],
    options: { background_compositing: true },
  };
}

const models = new ModelCache();
console.log('size      run   wall s  onnx s  outside-onnx  transformer calls  fwd-equiv  peak RSS MiB');
for (const size of sizes) {
  const input = await request(size);
  for (let run = 0; run <= warmRuns; run++) {
    const started = performance.now();
    const { metrics: m } = await runEdit(input, { models });
    const wall = (performance.now() - started) / 1000;
    const outside = 1 - m.onnx_seconds / wall;
    console.log(
      `${`${size}x${size}`.padEnd(10)}${(run === 0 ? 'cold' : 'warm').padEnd(6)}${wall.toFixed(2).padStart(6)}  ` +
        `${m.onnx_seconds.toFixed(2).padStart(6)}  ${`${(outside * 100).toFixed(1)}%`.padStart(12)}  ` +
        `${String(m.transformer_calls).padStart(17)}  ${m.forward_pass_equivalents.toFixed(1).padStart(9)}  ` +
        `${(m.peak_rss_bytes / 2 ** 20).toFixed(0).padStart(12)}`,
    );
    if (run > 0) {
      const phases = Object.entries(m.phase_seconds).map(([phase, s]) => `${phase} ${s!.toFixed(2)}`);
      console.log(`          phases: ${phases.join(', ')}`);
    }
  }
}
await models.release();
