/**
 * `npm run check:placement`: would onnxruntime 1.30's CUDA provider run every node of the graphs a
 * FLUX.1-dev edit opens on CUDA (pipeline/model.ts `editSessionPlan` with device cuda: the bfloat16
 * edit graph, the VAE encoder and decoder) at 512x512 and 1024x1024? Lists, per graph, each
 * (op, resolved version, dtypes) with its node count and the CUDA registration that takes it
 * (graph/placement.ts against graph/cuda-kernels.ts); exits 1 naming any that would fall back to
 * the CPU. Needs no GPU and no weights (shape-only graphs).
 *
 *   npm run check:placement [-- --quiet]
 */
import { parseArgs } from 'node:util';
import { cpuFallbacks, cudaPlacement } from '../src/graph/placement.ts';
import { OPSET } from '../src/graph/serialize.ts';
import { releasedEditPlan } from '../src/pipeline/model.ts';

const { values } = parseArgs({ options: { quiet: { type: 'boolean', default: false } } });
let fallbacks = 0;
for (const size of [512, 1024]) {
  const plan = releasedEditPlan('flux1-dev', size, { regions: 1, device: 'cuda' });
  for (const variant of Object.values(plan.variants)) {
    const graph = variant.build(() => undefined, 'bfloat16');
    const rows = cudaPlacement(graph);
    const cpu = cpuFallbacks(rows);
    fallbacks += cpu.length;
    const nodes = rows.reduce((n, r) => n + r.nodes, 0);
    process.stdout.write(
      `${size}x${size} ${variant.name}: ${nodes} nodes, ${rows.length} (op, version, dtypes) at opset ${OPSET}, ` +
        `${cpu.length === 0 ? 'all on CUDA' : `${cpu.length} WOULD RUN ON THE CPU`}\n`,
    );
    for (const r of values.quiet ? cpu : rows) {
      const where = r.kernel
        ? `CUDA ${r.kernel.op} ${r.kernel.since}${r.kernel.until === undefined ? '' : `-${r.kernel.until}`} [${r.kernel.source.split(' ')[0]}]`
        : 'CPU (no CUDA kernel)';
      process.stdout.write(
        `  ${`${r.op}-${r.version ?? '?'}`.padEnd(22)} ${r.types.padEnd(32)} x${String(r.nodes).padEnd(5)} ${where}\n`,
      );
    }
  }
}
process.stdout.write(
  fallbacks === 0
    ? 'placement: every node of every runtime graph has a CUDA kernel\n'
    : `placement: ${fallbacks} rows would fall back to the CPU\n`,
);
if (fallbacks) process.exitCode = 1;
