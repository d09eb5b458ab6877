/**
 * Wall time of one DragFlow edit on the embedded demo bundle at 256x256 and 512x512 (the paper's
 * 25 steps, 50 + 20 drag iterations), and the share of it spent outside onnxruntime calls (host
 * work: warps, blending, packing, feeds; target <= 5%). Each size runs one cold edit (graphs built,
 * sessions opened) and then warm edits on the same sessions, as a worker serving edits does.
 * Usage: `npm run bench:pipeline -- [--sizes 256,512] [--warm 1]`.
 */
import { parseArgs } from 'node:util';
import { runEdit } from '../src/pipeline/edit.ts';
import { ModelCache } from '../src/pipeline/model-cache.ts';
import { ballRequest } from './ball-scene.ts';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '256,512' }, warm: { type: 'string', default: '1' } },
});
const sizes = values.sizes.split(',').map(Number);
const warmRuns = Number(values.warm);

const models = new ModelCache();
console.log('size      run   wall s  onnx s  outside-onnx  transformer calls  fwd-equiv  peak RSS MiB');
for (const size of sizes) {
  const input = await ballRequest(size);
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
