/**
 * `npm run bench:autodiff`: cost of the appended gradient for stacked FLUX-shaped transformer
 * blocks. Prints build time, model size, and onnxruntime CPU time of the forward pass vs
 * forward + d(loss)/d(x), plain and with every block rematerialized; then the memory each variant
 * needs while running (peak RSS over the created session, one child process each, Linux). Not a test.
 * Target (theory says backward ~ 2x forward): forward+gradient <= 3.5x forward.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { appendGradients, type GradientOptions } from '../src/graph/autodiff.ts';
import { type BlockSize, blockWeightShapes, transformerBlock } from '../src/graph/block-fixture.ts';
import { Graph } from '../src/graph/graph.ts';
import { toModelBytes } from '../src/graph/serialize.ts';
import { createSession } from '../src/graph/session.ts';

const timingSizes: BlockSize[] = [
  { tokens: 64, dim: 128, heads: 4 },
  { tokens: 256, dim: 256, heads: 4 },
  { tokens: 512, dim: 384, heads: 6 },
];
const timingBlocks = 2;
const memorySize: BlockSize = { tokens: 1024, dim: 256, heads: 4 };
const memoryBlocks = 6;
const runs = 9;
/** onnxruntime intra-op threads (the serving target has 2 CPU cores to spare for this). */
const threads = Number(process.env.BENCH_THREADS ?? 2);

type Variant = 'forward' | 'gradient' | 'remat';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

/** `blocks` blocks, loss = mean(y^2); with a gradient variant also d(loss)/dx. */
function build(size: BlockSize, blocks: number, variant: Variant): { graph: Graph; ms: number } {
  const start = performance.now();
  const random = seeded(7);
  const g = new Graph('bench');
  const x = g.input('x', 'float32', [1, size.tokens, size.dim]);
  const c = g.input('c', 'float32', [1, size.dim]);
  let h = x;
  for (let b = 0; b < blocks; b++) {
    h = g.segment(`blocks.${b}`, () =>
      transformerBlock(g, h, c, size, (name, shape) => {
        const count = shape.reduce((p, d) => p * d, 1);
        const data = Float32Array.from({ length: count }, () => random() / Math.sqrt(shape.at(-1)!));
        return g.param(`blocks.${b}.${name}`, 'float32', shape, data);
      }),
    );
  }
  const loss = g.reduceMean(g.mul(h, h), [0, 1, 2], false);
  g.output('loss', loss);
  if (variant !== 'forward') {
    const segments = Array.from({ length: blocks }, (_, b) => `blocks.${b}`);
    const options: GradientOptions = variant === 'remat' ? { rematerialize: segments } : {};
    g.output('grad_x', appendGradients(g, loss, [x], options)[0]!);
  }
  toModelBytes(g);
  return { graph: g, ms: performance.now() - start };
}

function feedsFor(size: BlockSize): Record<string, Float32Array> {
  const random = seeded(3);
  return {
    x: Float32Array.from({ length: size.tokens * size.dim }, random),
    c: Float32Array.from({ length: size.dim }, random),
  };
}

/** Median run time of each graph; runs are interleaved so background load hits all alike. */
async function medianRunMs(graphs: Graph[], feeds: Record<string, Float32Array>): Promise<number[]> {
  const sessions = await Promise.all(graphs.map((g) => createSession(g, { intraOpNumThreads: threads })));
  for (const run of sessions) for (let i = 0; i < 2; i++) await run(feeds);
  const times: number[][] = sessions.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, run] of sessions.entries()) {
      const start = performance.now();
      await run(feeds);
      times[k]!.push(performance.now() - start);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(runs / 2)]!);
}

/** Resident memory high-water mark in bytes (Linux: VmHWM of /proc/self/status). */
function peakRss(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  if (!line) throw new Error('no VmHWM in /proc/self/status (the memory figures need Linux)');
  return Number(line[1]) * 1024;
}

/**
 * In a child process: how far resident memory rises above the created session while running one
 * variant (memory arena and patterns off, so freed activations go back). Writing 5 to
 * /proc/self/clear_refs resets the high-water mark to the current RSS, so transients count.
 */
async function measureRunMemory(variant: Variant): Promise<void> {
  const { graph } = build(memorySize, memoryBlocks, variant);
  const run = await createSession(graph, {
    intraOpNumThreads: threads,
    enableCpuMemArena: false,
    enableMemPattern: false,
  });
  const feeds = feedsFor(memorySize);
  writeFileSync('/proc/self/clear_refs', '5');
  const baseline = process.memoryUsage().rss;
  for (let i = 0; i < 3; i++) await run(feeds);
  process.stdout.write(`${((peakRss() - baseline) / 2 ** 20).toFixed(0)}\n`);
}

function runMemoryInChild(variant: Variant): string {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--memory', variant],
    {
      encoding: 'utf8',
    },
  );
  return child.status === 0 ? child.stdout.trim() : `failed: ${child.stderr.trim().split('\n').at(-1)}`;
}

async function main(): Promise<void> {
  console.log(
    `${timingBlocks} stacked transformer blocks, float32, onnxruntime-node CPU, ${threads} threads, median of ${runs} interleaved runs`,
  );
  console.log(
    [
      'tokens x dim',
      'params',
      'build fwd/grad ms',
      'model MB',
      'fwd ms',
      'fwd+grad ms',
      'ratio',
      'remat ms',
      'remat ratio',
    ].join('\t'),
  );
  for (const size of timingSizes) {
    const [forward, gradient, remat] = (['forward', 'gradient', 'remat'] as const).map((v) =>
      build(size, timingBlocks, v),
    );
    const perBlock = Object.values(blockWeightShapes(size)).reduce(
      (p, s) => p + s.reduce((a, d) => a * d, 1),
      0,
    );
    const [fwd, grad, rematMs] = (await medianRunMs(
      [forward!.graph, gradient!.graph, remat!.graph],
      feedsFor(size),
    )) as [number, number, number];
    const megabytes = (g: Graph) => (toModelBytes(g).length / 2 ** 20).toFixed(2);
    console.log(
      [
        `${size.tokens} x ${size.dim}`,
        `${((timingBlocks * perBlock) / 1e6).toFixed(2)}M`,
        `${forward!.ms.toFixed(0)}/${gradient!.ms.toFixed(0)}`,
        `${megabytes(forward!.graph)}/${megabytes(gradient!.graph)}`,
        fwd.toFixed(2),
        grad.toFixed(2),
        (grad / fwd).toFixed(2),
        rematMs.toFixed(2),
        (rematMs / fwd).toFixed(2),
      ].join('\t'),
    );
  }
  console.log(
    `\nactivation memory, ${memoryBlocks} blocks of ${memorySize.tokens} x ${memorySize.dim}: peak RSS growth during a run (MiB)`,
  );
  for (const variant of ['forward', 'gradient', 'remat'] as const)
    console.log(`${variant}\t${runMemoryInChild(variant)}`);
}

if (process.argv[2] === '--memory') await measureRunMemory(process.argv[3] as Variant);
else await main();
