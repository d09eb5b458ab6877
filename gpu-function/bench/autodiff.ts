/**
 * `npm run bench:autodiff`: cost of the appended gradient for two stacked FLUX-shaped transformer
 * blocks at three sizes. Prints build time, model size, and onnxruntime CPU time of the forward
 * pass vs forward + d(loss)/d(x) (plain and with both blocks rematerialized). Not a test.
 * Target (theory says backward ~ 2x forward): forward+gradient <= 3.5x forward.
 */
import { performance } from 'node:perf_hooks';
import { appendGradients, type GradientOptions } from '../src/graph/autodiff.ts';
import { blockWeightShapes, transformerBlock } from '../src/graph/block-fixture.ts';
import { Graph } from '../src/graph/graph.ts';
import { toModelBytes } from '../src/graph/serialize.ts';
import { createSession } from '../src/graph/session.ts';

const sizes = [
  { tokens: 64, dim: 128, heads: 4 },
  { tokens: 256, dim: 256, heads: 4 },
  { tokens: 512, dim: 384, heads: 6 },
];
const blocks = 2;
const runs = 9;
/** onnxruntime intra-op threads (the serving target has 2 CPU cores to spare for this). */
const threads = Number(process.env.BENCH_THREADS ?? 2);

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

/** Two blocks, loss = mean(y^2); with `gradient`, also d(loss)/dx. Returns the graph and its build time. */
function build(
  size: (typeof sizes)[number],
  gradient: GradientOptions | undefined,
): { graph: Graph; ms: number } {
  const start = performance.now();
  const random = seeded(7);
  const g = new Graph('bench');
  const x = g.input('x', 'float32', [1, size.tokens, size.dim]);
  const c = g.input('c', 'float32', [1, size.dim]);
  let h = x;
  for (let b = 0; b < blocks; b++) {
    h = g.segment(`blocks.${b}`, () =>
      transformerBlock(g, h, c, size, (name, shape) => {
        const data = Float32Array.from(
          { length: shape.reduce((p, d) => p * d, 1) },
          () => random() / Math.sqrt(shape.at(-1)!),
        );
        return g.param(`blocks.${b}.${name}`, 'float32', shape, data);
      }),
    );
  }
  const loss = g.reduceMean(g.mul(h, h), [0, 1, 2], false);
  g.output('loss', loss);
  if (gradient) g.output('grad_x', appendGradients(g, loss, [x], gradient)[0]!);
  toModelBytes(g);
  return { graph: g, ms: performance.now() - start };
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

const header = [
  'tokens x dim',
  'params',
  'build fwd/fwd+grad ms',
  'model MB',
  'fwd ms',
  'fwd+grad ms',
  'ratio',
  'remat ms',
  'remat ratio',
];
console.log(
  `${blocks} stacked transformer blocks, float32, onnxruntime-node CPU, ${threads} threads, median of ${runs} interleaved runs`,
);
console.log(header.join('\t'));
for (const size of sizes) {
  const random = seeded(3);
  const feeds = {
    x: Float32Array.from({ length: size.tokens * size.dim }, random),
    c: Float32Array.from({ length: size.dim }, random),
  };
  const forward = build(size, undefined);
  const withGradient = build(size, {});
  const remat = build(size, { rematerialize: ['blocks.0', 'blocks.1'] });
  const params =
    blocks * Object.values(blockWeightShapes(size)).reduce((p, s) => p + s.reduce((a, d) => a * d, 1), 0);
  const [fwd, grad, rematMs] = (await medianRunMs(
    [forward.graph, withGradient.graph, remat.graph],
    feeds,
  )) as [number, number, number];
  const megabytes = (g: Graph) => (toModelBytes(g).length / 2 ** 20).toFixed(2);
  console.log(
    [
      `${size.tokens} x ${size.dim}`,
      `${(params / 1e6).toFixed(2)}M`,
      `${forward.ms.toFixed(0)}/${withGradient.ms.toFixed(0)}`,
      `${megabytes(forward.graph)}/${megabytes(withGradient.graph)}`,
      fwd.toFixed(2),
      grad.toFixed(2),
      (grad / fwd).toFixed(2),
      rematMs.toFixed(2),
      (rematMs / fwd).toFixed(2),
    ].join('\t'),
  );
}
