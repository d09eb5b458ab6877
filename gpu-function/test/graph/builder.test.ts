import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.ts';
import { toModelBytes } from '../../src/graph/serialize.ts';
import { createSession } from '../../src/graph/session.ts';
import { errorOf } from './graph-error.ts';

describe('graph builder', () => {
  it('infers shapes and runs a linear + softmax block in onnxruntime', async () => {
    const g = new Graph('linear');
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.param('w', 'float32', [2, 3], new Float32Array([1, 0, 0, 0, 1, 1]));
    const b = g.param('b', 'float32', [2], new Float32Array([0.5, -0.5]));
    const y = g.linear(x, w, b);
    expect(y.shape).toEqual([2, 2]);
    expect(y.dtype).toBe('float32');
    g.output('y', y);
    g.output('p', g.softmax(y));
    const run = await createSession(g);
    const out = await run({ x: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1.5, 4.5, 4.5, 10.5]);
    const p = out.p!.data as Float32Array;
    expect(p[0]).toBeCloseTo(1 / (1 + Math.exp(3)), 6);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 6);
  });

  it('runs one If branch per run, sharing weights, with branch-local tensors and dynamic inputs', async () => {
    const g = new Graph('if');
    const w = g.param('w', 'float32', [2, 2], new Float32Array([1, 2, 3, 4]));
    const x = g.input('x', 'float32', [1, 2]);
    const scale = g.input('scale', 'float32', [3], { dynamicAxes: [0] });
    expect(scale.dimParams).toEqual(['scale_0']);
    const useW = g.input('use_w', 'bool', []);
    const [y, extra] = g.ifThenElse(
      useW,
      () => [g.linear(x, w), g.reduceSum(scale, [0])],
      () => [g.mul(x, 10), g.constant([7], 'float32', [1])],
    );
    // Same shape from both branches: concrete; the second output's branches agree too.
    expect(y!.shape).toEqual([1, 2]);
    expect(y!.dimParams).toBeUndefined();
    g.output('y', y!);
    g.output('extra', extra!);
    expect(g.initializers.filter((i) => i.kind === 'param').length).toBe(1);
    const run = await createSession(g);
    const withW = await run({
      x: Float32Array.of(1, 1),
      scale: Float32Array.of(1, 2, 3),
      use_w: Uint8Array.of(1),
    });
    expect(Array.from(withW.y!.data as Float32Array)).toEqual([3, 7]);
    expect(Array.from(withW.extra!.data as Float32Array)).toEqual([6]);
    // The untaken branch never reads `scale`: one element is enough.
    const without = await run({
      x: Float32Array.of(1, 2),
      scale: { data: Float32Array.of(0), dims: [1] },
      use_w: Uint8Array.of(0),
    });
    expect(Array.from(without.y!.data as Float32Array)).toEqual([10, 20]);
    expect(Array.from(without.extra!.data as Float32Array)).toEqual([7]);
  });

  it('gives If outputs whose branches differ in size symbolic dims, and refuses bad branches', async () => {
    const g = new Graph('if-shapes');
    const flag = g.input('flag', 'bool', []);
    const x = g.input('x', 'float32', [4, 3]);
    let inner: ReturnType<Graph['add']> | undefined;
    const [out] = g.ifThenElse(
      flag,
      () => {
        inner = g.add(x, 1);
        return [inner];
      },
      () => [g.constant([0], 'float32', [1, 1])],
    );
    expect(out!.shape).toEqual([4, 3]);
    expect(out!.dimParams).toEqual([expect.stringMatching(/_0$/), expect.stringMatching(/_1$/)]);
    g.output('out', out!);
    const run = await createSession(g);
    expect((await run({ flag: Uint8Array.of(0), x: new Float32Array(12) })).out!.dims).toEqual([1, 1]);
    expect((await run({ flag: Uint8Array.of(1), x: new Float32Array(12) })).out!.dims).toEqual([4, 3]);

    expect(errorOf(() => g.add(inner!, 1)).code).toBe('foreign_tensor');
    expect(
      errorOf(() =>
        g.ifThenElse(
          x,
          () => [x],
          () => [x],
        ),
      ).code,
    ).toBe('dtype_mismatch');
    expect(
      errorOf(() =>
        g.ifThenElse(
          flag,
          () => [x],
          () => [x, x],
        ),
      ).message,
    ).toContain('branches return 1 and 2 tensors');
    expect(
      errorOf(() =>
        g.ifThenElse(
          flag,
          () => [x],
          () => [g.cast(x, 'float64')],
        ),
      ).code,
    ).toBe('dtype_mismatch');
    expect(
      errorOf(() =>
        g.ifThenElse(
          flag,
          () => {
            g.output('inside', x);
            return [x];
          },
          () => [x],
        ),
      ).message,
    ).toContain('outputs belong to the main graph');
    expect(errorOf(() => g.input('bad', 'float32', [2], { dynamicAxes: [1] })).code).toBe('bad_attribute');
  });

  it('computes shapes of the transformer ops without running them', () => {
    const g = new Graph('shapes');
    const x = g.input('x', 'float32', [1, 16, 64]);
    const qkv = g.reshape(g.linear(x, g.param('qkv', 'float32', [192, 64])), [1, 16, 3, 4, 16]);
    const [q, k, v] = g.split(g.transpose(qkv, [2, 0, 3, 1, 4]), [1, 1, 1], 0).map((t) => g.squeeze(t, [0]));
    expect(q!.shape).toEqual([1, 4, 16, 16]);
    const attention = g.softmax(g.mul(g.matmul(q!, g.transpose(k!, [0, 1, 3, 2])), 0.25));
    expect(attention.shape).toEqual([1, 4, 16, 16]);
    expect(g.matmul(attention, v!).shape).toEqual([1, 4, 16, 16]);
    expect(g.slice(x, [2], [-2], [1], [3]).shape).toEqual([1, 4, 64]);
    expect(g.concat([x, x], 1).shape).toEqual([1, 32, 64]);
    expect(g.reduceMean(x, [-1], false).shape).toEqual([1, 16]);
    expect(g.gather(x, [0, 5, 5], 1).shape).toEqual([1, 3, 64]);
    expect(g.unsqueeze(x, [0, 3]).shape).toEqual([1, 1, 16, 1, 64]);
    expect(g.expand(g.reduceSum(x, [1]), [2, 16, 64]).shape).toEqual([2, 16, 64]);
    const img = g.input('img', 'float32', [1, 4, 8, 8]);
    expect(
      g.conv(img, g.param('k', 'float32', [6, 2, 3, 3]), undefined, {
        group: 2,
        strides: [2, 2],
        pads: [1, 1, 1, 1],
      }).shape,
    ).toEqual([1, 6, 4, 4]);
    expect(g.resize(img, [1, 4, 16, 12], 'linear').shape).toEqual([1, 4, 16, 12]);
    expect(g.gridSample(img, g.input('grid', 'float32', [1, 5, 7, 2])).shape).toEqual([1, 4, 5, 7]);
  });

  it('fails at build time naming the node and what mismatched', () => {
    const g = new Graph('bad');
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 3]);
    const i = g.input('i', 'int64', [2, 3]);

    const shape = errorOf(() => g.add(a, b));
    expect(shape.code).toBe('shape_mismatch');
    expect(shape.message).toMatch(/^Add node 'Add_\d+': shapes do not broadcast: 'a' \[2, 3\], 'b' \[4, 3\]/);

    const dtype = errorOf(() => g.mul(a, i));
    expect(dtype.code).toBe('dtype_mismatch');
    expect(dtype.message).toContain("Mul node 'Mul_");
    expect(dtype.message).toContain("'i' is int64");

    const unknown = errorOf(() => g.op('FancyAttention', [a]));
    expect(unknown.code).toBe('unknown_op');
    expect(unknown.message).toMatch(/^FancyAttention node 'FancyAttention_\d+'/);

    expect(errorOf(() => g.matmul(a, b)).message).toContain('inner dimensions differ: [2, 3] x [4, 3]');
    expect(errorOf(() => g.reshape(a, [4, -1])).code).toBe('shape_mismatch');
    expect(errorOf(() => g.transpose(a, [0, 0])).code).toBe('bad_attribute');
    expect(errorOf(() => g.input('a', 'float32', [1])).code).toBe('duplicate_name');

    const other = new Graph('other');
    const foreign = errorOf(() => g.add(a, other.input('z', 'float32', [2, 3])));
    expect(foreign.code).toBe('foreign_tensor');
    expect(foreign.message).toContain("belongs to graph 'other'");
  });

  it('rejects a dangling input and a cycle when the graph is finalized', () => {
    const dangling = new Graph('dangling');
    const later = dangling.declare('later', 'float32', [2]);
    dangling.output('y', dangling.exp(later));
    const d = errorOf(() => toModelBytes(dangling));
    expect(d.code).toBe('dangling_input');
    expect(d.message).toMatch(/^Exp node 'Exp_\d+': input 'later' was declared but never defined/);

    const cyclic = new Graph('cyclic');
    const h = cyclic.declare('h', 'float32', [2]);
    const next = cyclic.tanh(cyclic.add(h, 1));
    cyclic.define(h, next);
    cyclic.output('y', next);
    const c = errorOf(() => toModelBytes(cyclic));
    expect(c.code).toBe('cycle');
    // Read as "Add_1 needs Identity_3, which needs Tanh_2, which needs Add_1".
    expect(c.message).toBe(
      "Add node 'Add_1': depends on itself: Add_1 -> Identity_3 -> Tanh_2 -> Add_1 [cycle]",
    );

    const shaped = new Graph('declared');
    const s = shaped.declare('s', 'float32', [2]);
    expect(errorOf(() => shaped.define(s, shaped.input('wrong', 'float32', [3]))).code).toBe(
      'shape_mismatch',
    );
  });

  it('serializes identical graphs to identical bytes', () => {
    const build = () => {
      const g = new Graph('same');
      const x = g.input('x', 'float32', [3, 4]);
      const w = g.param(
        'w',
        'float32',
        [4, 4],
        Float32Array.from({ length: 16 }, (_, i) => i / 7),
      );
      g.output(
        'y',
        g.gelu(g.layerNorm(g.matmul(x, w), g.param('s', 'float32', [4], new Float32Array(4).fill(1)))),
      );
      return toModelBytes(g);
    };
    const first = build();
    expect(first.length).toBeGreaterThan(100);
    expect(Buffer.from(build()).equals(Buffer.from(first))).toBe(true);
  });

  it('stores weights externally and as bfloat16 cast to float32', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-'));
    const weights = new Float32Array([2, 3, 4]);
    writeFileSync(join(dir, 'weights.bin'), Buffer.concat([Buffer.alloc(8), Buffer.from(weights.buffer)]));
    const g = new Graph('external');
    const x = g.input('x', 'float32', [3]);
    const w = g.param('w', 'float32', [3], { location: 'weights.bin', offset: 8, length: 12 });
    // bfloat16 bit patterns of 1.5, -2, 0.25: the upper 16 bits of their float32 encodings.
    const bf16 = new Uint16Array([0x3fc0, 0xc000, 0x3e80]);
    const v = g.param('v', 'float32', [3], bf16, { stored: 'bfloat16' });
    expect(v.dtype).toBe('float32');
    g.output('y', g.add(g.mul(x, w), v));
    writeFileSync(join(dir, 'model.onnx'), toModelBytes(g));
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { logSeverityLevel: 3 });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 2]), [3]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([3.5, 1, 8.25]);
  });

  it('checks external data against the stored dtype and shape', () => {
    const g = new Graph('external-check');
    const e = errorOf(() =>
      g.param('w', 'float32', [4, 4], { location: 'w.bin', offset: 0, length: 64 }, { stored: 'bfloat16' }),
    );
    expect(e.code).toBe('shape_mismatch');
    expect(e.message).toBe(
      "initializer 'w': external data (offset 0, length 64) must be 32 bytes at a non-negative offset for bfloat16[4, 4] [shape_mismatch]",
    );
    expect(
      g.param('v', 'float32', [4, 4], { location: 'w.bin', offset: 64, length: 32 }, { stored: 'bfloat16' })
        .dtype,
    ).toBe('float32');
  });

  it('builds shape-only params but refuses to serialize them', () => {
    const g = new Graph('no-weights');
    const y = g.linear(
      g.input('x', 'float32', [1, 3072]),
      g.param('big', 'float32', [3072, 3072], undefined, { stored: 'bfloat16' }),
    );
    expect(y.dtype).toBe('float32');
    g.output('y', y);
    const e = errorOf(() => toModelBytes(g));
    expect(e.code).toBe('missing_data');
    expect(e.message).toContain("param 'big'");
  });
});
