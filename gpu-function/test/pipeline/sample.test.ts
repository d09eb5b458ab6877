import { describe, expect, it } from 'vitest';
import type { KvPairing } from '../../src/dragflow/kv-order.ts';
import { names } from '../../src/flux/transformer.ts';
import type { KvInputs } from '../../src/pipeline/kv-cache.ts';
import { KvCache } from '../../src/pipeline/kv-cache.ts';
import type { TextConditioning } from '../../src/pipeline/prompt-encoder.ts';
import { sampleEdit } from '../../src/pipeline/sample.ts';

const key = names.kvIn('double', 0, 'k');

/** Samples 3 steps against 4 captured sets (set i holds the value i) and records every call. */
async function sampleWith(pairing: KvPairing) {
  const cache = new KvCache({ double: [0], single: [] });
  for (let set = 0; set < 4; set++) {
    cache.store({
      [names.kvOut('double', 0, 'k')]: Uint16Array.of(set),
      [names.kvOut('double', 0, 'v')]: Uint16Array.of(set),
    });
  }
  const target: TextConditioning = { prompt: 'target', txt: Float32Array.of(1), y: Float32Array.of(2) };
  const calls: { guidance: number; set: number; text: TextConditioning }[] = [];
  const model = {
    velocityInjected: async (
      z: Float32Array,
      _t: number,
      guidance: number,
      text: TextConditioning,
      kv: KvInputs,
    ) => {
      calls.push({ guidance, set: kv[key]![0]!, text });
      return new Float32Array(z.length);
    },
  };
  await sampleEdit({
    model,
    edit: Float32Array.of(1, 2),
    reconstruction: Float32Array.of(1, 2),
    times: [0.75, 0.5, 0.25, 0],
    keep: Uint8Array.of(1, 0),
    cache,
    kvPairing: pairing,
    text: target,
    editGuidance: 3.5,
    reconstructionGuidance: 1,
  });
  const branch = (guidance: number) => calls.filter((c) => c.guidance === guidance).map((c) => c.set);
  return { edit: branch(3.5), reconstruction: branch(1), calls };
}

describe('dual-branch sampling', () => {
  it('injects, in both branches, the K/V set the pairing names for each call (3 steps, 4 calls each)', async () => {
    const official = await sampleWith('reference_code');
    // Calls: step 0 start, step 0 midpoint, step 1 midpoint, step 2 midpoint.
    expect(official.edit).toEqual([3, 2, 1, 0]);
    expect(official.reconstruction).toEqual([3, 2, 1, 0]);
    const sameTime = await sampleWith('same_time');
    expect(sameTime.edit).toEqual([3, 3, 2, 1]);
    expect(sameTime.reconstruction).toEqual([3, 3, 2, 1]);
  });

  it('conditions both branches on the target prompt, each at its own guidance (official code)', async () => {
    const { calls } = await sampleWith('reference_code');
    expect(calls.map((c) => `${c.guidance}:${c.text.prompt}`)).toEqual([
      ...['1:target', '1:target', '3.5:target', '3.5:target'],
      ...['1:target', '3.5:target', '1:target', '3.5:target'],
    ]);
  });
});
