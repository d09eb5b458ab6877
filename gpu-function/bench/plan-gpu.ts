/**
 * Device memory of a FLUX.1-dev edit on one GPU (`npm run plan:gpu`), read off the graphs the CUDA
 * device runs (bfloat16 transformer, the drag step with and without per-block recomputation, float32 VAE,
 * shapes and dtypes as built, graph/memory-plan.ts for liveness): weights, each role's peak
 * activations, the K/V a call feeds, the supervision maps, and the total. Sessions keep their
 * arena at its peak, so the total adds the transformer's worst role and both VAE graphs.
 *
 *   npm run plan:gpu [-- --regions 1] [-- --text-tokens 512]
 */
import { parseArgs } from 'node:util';
import { resolveSettings } from '@dragflow/shared/presets';
import { autoEncoderConfigs, fluxConfigs, headDim } from '../src/flux/config.ts';
import { dragStepNames } from '../src/flux/drag-step.ts';
import { buildEditGraph, EDIT_GRAPH_REMATERIALIZES } from '../src/flux/edit-graph.ts';
import { featureMapSize } from '../src/flux/features.ts';
import type { TokenGrid } from '../src/flux/transformer.ts';
import { buildDecoderGraph, buildEncoderGraph } from '../src/flux/vae.ts';
import type { Graph, Node, Tensor } from '../src/graph/graph.ts';
import { type MemoryPlan, planMemory } from '../src/graph/memory-plan.ts';
import { kvBytesPerEdit } from '../src/pipeline/kv-cache.ts';
import { modelBlocks } from '../src/pipeline/model-blocks.ts';

const GIB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;
const TARGETS: Readonly<Record<number, number>> = { 512: 40 * GIB, 1024: 70 * GIB };
/** Inversion calls of the paper preset (steps - skip steps + 1). */
const INVERSION_STEPS = 19;

type Role = 'capture' | 'inject' | 'features' | 'drag_step';
const ROLES: readonly Role[] = ['capture', 'inject', 'features', 'drag_step'];

function rolePlan(graph: Graph, role: Role, kvTokenBytes: (t: Tensor) => number): MemoryPlan {
  const outer = graph.nodes.find((n) => n.op === 'If')!;
  return planMemory(graph, {
    branch: (node: Node) =>
      node === outer ? (role === 'capture' || role === 'inject' ? 0 : 1) : role === 'drag_step' ? 0 : 1,
    inputBytes: (t) => {
      if (!t.dimParams) return undefined;
      if (t.name.startsWith('kv_in.')) return role === 'capture' ? kvTokenBytes(t) : undefined;
      const isSupervision = Object.values(dragStepNames).includes(t.name as never);
      return isSupervision && role !== 'drag_step' ? 4 : undefined;
    },
  });
}

function main(): void {
  const { values } = parseArgs({
    options: { regions: { type: 'string', default: '1' }, 'text-tokens': { type: 'string', default: '512' } },
  });
  const regions = Number(values.regions);
  const textTokens = Number(values['text-tokens']);
  const config = fluxConfigs['flux1-dev'];
  const ae = autoEncoderConfigs['flux1-ae'];
  const settings = resolveSettings({});
  const blocks = modelBlocks(config, settings);
  const kvTokenBytes = () => config.numHeads * headDim(config) * 2;
  process.stdout.write(
    `FLUX.1-dev edit on CUDA: transformer bfloat16 (one session), ` +
      `VAE float32; ${textTokens} text tokens, ${regions} region(s), paper K/V blocks and feature taps\n`,
  );
  let failed = false;
  for (const size of [512, 1024]) {
    const grid: TokenGrid = { batch: 1, height: size / 16, width: size / 16, textTokens };
    const vaeOptions = { batch: 1, height: size, width: size, weights: { stored: 'bfloat16' as const } };
    const encoder = planMemory(buildEncoderGraph(ae, vaeOptions), { branch: () => 0 });
    const decoder = planMemory(buildDecoderGraph(ae, vaeOptions), { branch: () => 0 });
    const kvHost = kvBytesPerEdit(config, grid, blocks.kv, INVERSION_STEPS);
    const map = featureMapSize({ height: size, width: size });
    const build = (rematerializeBlocks: boolean) =>
      buildEditGraph(config, {
        grid,
        regions,
        kvBlocks: blocks.kv,
        kvDtype: 'float16',
        taps: blocks.taps,
        image: { height: size, width: size },
        mapSize: map,
        compute: 'bfloat16',
        rematerializeBlocks,
        weights: { stored: 'bfloat16' },
      });
    const variants = [EDIT_GRAPH_REMATERIALIZES, !EDIT_GRAPH_REMATERIALIZES].map((remat) => {
      const graph = build(remat);
      const plans = ROLES.map((role) => ({ role, plan: rolePlan(graph, role, kvTokenBytes) }));
      const worst = plans.reduce((a, b) => (b.plan.peakBytes > a.plan.peakBytes ? b : a));
      return { remat, plans, worst };
    });
    const [chosen, alternative] = variants as [(typeof variants)[0], (typeof variants)[0]];
    const transformerWeights = chosen.plans[0]!.plan.weightBytes;
    const weights = transformerWeights + encoder.weightBytes + decoder.weightBytes;
    const totalOf = (v: typeof chosen) =>
      weights + v.worst.plan.peakBytes + encoder.peakBytes + decoder.peakBytes;
    const total = totalOf(chosen);
    const channels = blocks.taps.length * (config.hiddenSize / 4);
    const mapBytes = channels * map.height * map.width * 4;
    const kvInject = chosen.plans.find((p) => p.role === 'inject')!.plan.inputBytes;
    const remat = (on: boolean) => (on ? 'recomputing each block' : "keeping every block's activations");
    process.stdout.write(
      `\n${size}x${size}, supervision maps ${map.width}x${map.height} (the image / s, as the reference code) (${channels} channels, ${gib(mapBytes)} float32 per map, ` +
        `${gib(regions * mapBytes)} of warped targets fed per drag step)\n` +
        `  weights: transformer ${gib(transformerWeights)} (bfloat16, held once), VAE encoder ${gib(encoder.weightBytes)}, decoder ${gib(decoder.weightBytes)}\n` +
        `  transformer peak activations per role, drag step ${remat(chosen.remat)} (the runtime's choice):\n` +
        chosen.plans
          .map(
            ({ role, plan }) =>
              `    ${role.padEnd(10)} ${gib(plan.peakBytes)} (inputs ${gib(plan.inputBytes)}; peak at ${plan.peakNode}; ${plan.nodesRun} nodes run)\n`,
          )
          .join('') +
        `  (${remat(alternative.remat)} instead: ${alternative.plans.map(({ role, plan }) => `${role} ${gib(plan.peakBytes)}`).join(', ')}; total ${gib(totalOf(alternative))})\n` +
        `  VAE encoder peak ${gib(encoder.peakBytes)}, decoder peak ${gib(decoder.peakBytes)}\n` +
        `  K/V: ${gib(kvInject)} of inputs per injecting call (in the peaks above); the edit's cache of ${INVERSION_STEPS + 1} calls, ${gib(kvHost)}, stays in host memory\n`,
    );
    const worst = chosen.worst;
    const target = TARGETS[size]!;
    const pass = total <= target;
    if (!pass) failed = true;
    process.stdout.write(
      `  total device memory: ${gib(total)} = weights + ${worst.role} peak + VAE peaks (target <= ${gib(target)}) ${pass ? 'PASS' : 'FAIL'}\n`,
    );
  }
  process.stdout.write(
    '\nNot in the figures: allocator rounding (the CUDA arena grows by powers of two: onnxruntime-node cannot set ' +
      'arena_extend_strategy) and kernel workspaces (cuBLAS, flash attention, cuDNN).\n',
  );
  if (failed) process.exitCode = 1;
}

main();
