import { describe, expect, it } from 'vitest';
import { CUDA_KERNELS, ONNX_OP_VERSIONS } from '../../src/graph/cuda-kernels.ts';
import { Graph } from '../../src/graph/graph.ts';
import { opInference } from '../../src/graph/ops.ts';
import { cpuFallbacks, cudaPlacement, resolvedVersion } from '../../src/graph/placement.ts';
import { OPSET } from '../../src/graph/serialize.ts';
import { releasedEditPlan } from '../../src/pipeline/model.ts';

describe('CUDA placement check', () => {
  it('resolves ops to their newest version not after the opset', () => {
    expect(OPSET).toBe(23);
    expect(resolvedVersion('Cast')).toBe(23);
    expect(resolvedVersion('Cast', 26)).toBe(25);
    expect(resolvedVersion('Conv')).toBe(22);
    expect(resolvedVersion('Resize')).toBe(19);
    expect(resolvedVersion('Attention', 26)).toBe(24);
    expect(resolvedVersion('Gelu', 19)).toBeUndefined();
    // Every op the builder can emit has a version history.
    expect(Object.keys(opInference).filter((op) => ONNX_OP_VERSIONS[op] === undefined)).toEqual([]);
    expect(CUDA_KERNELS.every((k) => k.source.length > 0)).toBe(true);
  });

  it('names what would fall back: a dtype without kernel, a version an open registration does not reach', () => {
    const g = new Graph('fallbacks');
    const x = g.input('x', 'float32', [4]);
    g.output('sin', g.sin(x)); // Sin-22: no CUDA registration in the table
    g.output('resized', g.resize(g.reshape(g.cast(x, 'bfloat16'), [1, 1, 2, 2]), [1, 1, 4, 4], 'linear'));
    g.output('ok', g.add(x, 1));
    const fallbacks = cpuFallbacks(cudaPlacement(g)).map((r) => `${r.op}-${r.version} ${r.types}`);
    expect(fallbacks).toEqual(['Resize-19 T1=bfloat16', 'Sin-22 T=float32']);
    // At opset 26 Cast resolves to 25, which the table's Cast 23-23 does not cover.
    const cast = cudaPlacement(g, 26).find((r) => r.op === 'Cast');
    expect([cast?.version, cast?.kernel]).toEqual([25, undefined]);
  });

  it('finds a CUDA kernel for every node of every graph a FLUX.1-dev edit opens on CUDA, at 512 and 1024', () => {
    for (const size of [512, 1024]) {
      const plan = releasedEditPlan('flux1-dev', size, { regions: 2, device: 'cuda' });
      expect(plan.compute).toBe('bfloat16');
      expect(plan.grid.textTokens).toBe(512);
      for (const variant of Object.values(plan.variants)) {
        const rows = cudaPlacement(variant.build(() => undefined, 'bfloat16'));
        expect(rows.length).toBeGreaterThan(10);
        expect(cpuFallbacks(rows).map((r) => `${variant.name} ${r.op}-${r.version} ${r.types}`)).toEqual([]);
        // No float64 anywhere on the device.
        expect(rows.filter((r) => r.types.includes('float64'))).toEqual([]);
      }
    }
  });
});
