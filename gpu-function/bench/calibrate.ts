/**
 * `npm run bench:calibrate`: fits the CPU cost profile of the work plan (pipeline/work-plan.ts
 * CPU_PROFILE) on measured edits. Each size runs one short edit of the demo bundle in its own
 * process (ball-scene.ts, the ball moved right; steps 6, skip 1, 6 + 2 drag iterations), at that size exactly
 * (the working size raised to it), and reports its peak RSS and phase times. Then, from the same
 * structural terms the estimate uses (`costTerms`):
 * - memory: peak RSS - exact bytes (weights, K/V cache) = base + a x tokens*hidden + b x attention
 *   score bytes + c x supervision map bytes, least squares (a term whose coefficient comes out
 *   negative is dropped and the rest refitted);
 * - time: the transformer phases' seconds = transformer FLOPs / rate + drag-step map elements / rate2.
 * It prints the coefficients, each run's measured value against the fitted one, and how the current
 * CPU_PROFILE does on the same runs. Run it on an idle machine (load raises the times, not the memory).
 * Usage: `npm run bench:calibrate -- [--sizes 128x128,256x256,...]`
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PRESETS, type Settings } from '@dragflow/shared/presets';
import { ensureDemoBundle } from '../src/bundle/demo.ts';
import { runEdit } from '../src/pipeline/edit.ts';
import { CPU_PROFILE, costTerms, estimateEdit } from '../src/pipeline/work-plan.ts';
import { ballRequest } from './ball-scene.ts';

const SHORT = { steps: 6, skip_steps: 1, transport_iterations: 6, intensify_iterations: 2 } as const;
const SIZES = '128x128,256x256,384x384,512x256,512x512,640x640,768x768,1024x512,1024x1024';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
};

/** One short edit of the benchmarks' ball scene at width x height in this process; prints one JSON line. */
async function child(width: number, height: number): Promise<void> {
  const request = await ballRequest(width, height);
  const { metrics } = await runEdit(
    { ...request, options: { ...request.options, ...SHORT } },
    { maxWorkingPixels: width * height },
  );
  const phases = metrics.phase_seconds as Record<string, number>;
  const transformerSeconds = ['inverting', 'transport', 'intensify', 'sampling']
    .map((phase) => phases[phase] ?? 0)
    .reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ width, height, peak: metrics.peak_rss_bytes, transformerSeconds }));
}

/** Least squares x for rows A (n x k) and values b, by the normal equations (k is at most 4). */
function leastSquares(rows: number[][], values: number[]): number[] {
  const k = rows[0]!.length;
  const scale = Array.from({ length: k }, (_, j) => Math.max(...rows.map((row) => Math.abs(row[j]!))) || 1);
  const a = rows.map((row) => row.map((v, j) => v / scale[j]!));
  const m = Array.from({ length: k }, (_, i) =>
    Array.from({ length: k + 1 }, (_, j) =>
      a.reduce((sum, row, n) => sum + row[i]! * (j < k ? row[j]! : values[n]!), 0),
    ),
  );
  for (let col = 0; col < k; col++) {
    const pivot = m
      .slice(col)
      .reduce((best, row, i) => (Math.abs(row[col]!) > Math.abs(m[best]![col]!) ? col + i : best), col);
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let row = 0; row < k; row++) {
      if (row === col) continue;
      const f = m[row]![col]! / m[col]![col]!;
      for (let j = col; j <= k; j++) m[row]![j]! -= f * m[col]![j]!;
    }
  }
  return m.map((row, i) => row[k]! / row[i]! / scale[i]!);
}

/** Least squares over the named columns, dropping any (but the first) whose coefficient is negative. */
function fitNonNegative(columns: Record<string, number[]>, values: number[]): Record<string, number> {
  let names = Object.keys(columns);
  for (;;) {
    const x = leastSquares(
      values.map((_, n) => names.map((name) => columns[name]![n]!)),
      values,
    );
    const negative = names.findIndex((_, i) => i > 0 && x[i]! < 0);
    if (negative < 0)
      return Object.fromEntries(Object.keys(columns).map((name) => [name, x[names.indexOf(name)] ?? 0]));
    names = names.filter((_, i) => i !== negative);
  }
}

async function parent(): Promise<void> {
  const run = promisify(execFile);
  const self = new URL(import.meta.url).pathname;
  const { manifest } = await ensureDemoBundle();
  const settings: Settings = { ...PRESETS.paper, ...SHORT };
  const runs = [];
  console.log(`bench:calibrate: demo bundle, steps 6, skip 1, 6 + 2 drag iterations, one process per size`);
  for (const size of flag('sizes', SIZES).split(',')) {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const { stdout } = await run(process.execPath, [...process.execArgv, self, '--child', size], {
      maxBuffer: 1 << 20,
    });
    const measured = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const terms = costTerms(manifest, { width, height }, settings);
    runs.push({ size, measured, terms });
    console.log(
      `${size.padEnd(9)} peak RSS ${(measured.peak / 1e9).toFixed(3)} GB, transformer phases ${measured.transformerSeconds.toFixed(2)} s`,
    );
  }
  const memory = fitNonNegative(
    {
      base: runs.map(() => 1),
      tokenHidden: runs.map((r) => r.terms.tokenHidden),
      scoreBytes: runs.map((r) => r.terms.scoreBytes),
      mapBytes: runs.map((r) => r.terms.mapBytes),
    },
    runs.map((r) => r.measured.peak - r.terms.exactBytes),
  );
  const time = fitNonNegative(
    {
      transformerFlops: runs.map((r) => r.terms.transformerFlops),
      dragMapElements: runs.map((r) => r.terms.dragMapElements),
    },
    runs.map((r) => r.measured.transformerSeconds),
  );
  const fitted = {
    baseBytes: Math.round(memory.base!),
    bytesPerTokenHidden: Number(memory.tokenHidden!.toPrecision(4)),
    scoreMatricesPerBlock: Number(memory.scoreBytes!.toPrecision(4)),
    supervisionMapCopies: Number(memory.mapBytes!.toPrecision(4)),
    flops: Number((1 / time.transformerFlops!).toPrecision(3)),
    mapElementsPerSecond: time.dragMapElements ? Number((1 / time.dragMapElements).toPrecision(3)) : Infinity,
  };
  console.log(`fitted: ${JSON.stringify(fitted)}`);
  console.log('size       measured GB  fitted GB  CPU_PROFILE GB  measured s  fitted s');
  const profile = { ...CPU_PROFILE, ...fitted };
  for (const { size, measured, terms } of runs) {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const now = estimateEdit(manifest, { width, height }, settings);
    const fit = estimateEdit(manifest, { width, height }, settings, profile);
    console.log(
      `${size.padEnd(11)}${(measured.peak / 1e9).toFixed(3).padStart(11)}  ${(fit.peak_memory_bytes / 1e9).toFixed(3).padStart(9)}  ` +
        `${(now.peak_memory_bytes / 1e9).toFixed(3).padStart(14)}  ${measured.transformerSeconds.toFixed(2).padStart(10)}  ` +
        `${(fit.seconds - profile.setupSeconds).toFixed(2).padStart(8)}` +
        `  (terms: tokens*hidden ${terms.tokenHidden}, map ${terms.mapBytes} B)`,
    );
  }
}

const childSize = flag('child', '');
if (childSize) {
  const [width, height] = childSize.split('x').map(Number) as [number, number];
  await child(width, height);
} else {
  await parent();
}
