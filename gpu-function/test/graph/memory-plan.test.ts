import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.ts';
import { planMemory } from '../../src/graph/memory-plan.ts';

describe('memory plan (liveness of a run)', () => {
  it('frees a tensor after its last reader, counts views as their source and weights apart', () => {
    const g = new Graph('chain');
    const x = g.input('x', 'float32', [4]); // 16 bytes, live all run
    const w = g.param('w', 'float32', [4], new Float32Array(4)); // weight: apart
    const a = g.add(x, w); // step 0
    const b = g.mul(a, a); // step 1: x, a, b live = 48
    const r = g.reshape(b, [2, 2]); // step 2: view of b; a freed
    g.output('o', g.add(r, 1)); // step 3: x, b, o = 48; then an Identity view
    const plan = planMemory(g, { branch: () => 0 });
    expect(plan.peakBytes).toBe(48);
    expect(plan.peakNode).toMatch(/^Mul_/);
    expect(plan.inputBytes).toBe(16);
    // w (16 bytes), the reshape's shape (2 int64) and the scalar 1 (4 bytes).
    expect(plan.weightBytes).toBe(16 + 16 + 4);
    expect(plan.nodesRun).toBe(5);
  });

  it('runs the chosen If branch and keeps what either branch reads alive until the If ends', () => {
    const g = new Graph('if');
    const x = g.input('x', 'float32', [4]);
    const flag = g.input('flag', 'bool', []);
    const onlyElse = g.add(x, 1); // 16 bytes read by the else branch only
    const [out] = g.ifThenElse(
      flag,
      () => [g.mul(g.expand(g.reshape(x, [1, 4]), [250, 4]), 2)], // 4000 + 4000 bytes
      () => [g.reshape(g.mul(onlyElse, 3), [1, 4])],
    );
    g.output('out', out!);
    const taken = planMemory(g, { branch: () => 0 });
    // x 16 + flag 1 + onlyElse 16 (held for the If) + expand 4000 + mul 4000.
    expect(taken.peakBytes).toBe(16 + 1 + 16 + 4000 + 4000);
    const other = planMemory(g, { branch: () => 1 });
    expect(other.peakBytes).toBe(16 + 1 + 16 + 16);
    // Add, the branch's nodes (Reshape Expand Mul Identity | Mul Reshape Identity), the If, the output view.
    expect([taken.nodesRun, other.nodesRun]).toEqual([7, 6]);
    // A dynamic input fed at another size.
    const fed = planMemory(g, { branch: () => 1, inputBytes: (t) => (t.name === 'x' ? 400 : undefined) });
    expect(fed.inputBytes).toBe(401);
  });
});
