/**
 * The K/V cache of KV injection: the keys and values of the injected blocks at every inversion call,
 * stored as float16 (half the memory of float32; the values are activations of order 1-100, far
 * inside float16's range) and handed back as float32 graph inputs.
 *
 * Which cached set a later call gets (method doc: "in reverse order of capture"): the set captured
 * at the same time. Sampling call 0 starts at the edit time, where the last inversion call (the
 * last midpoint) is nearest; sampling call k >= 1 is the midpoint of the interval that inversion
 * call N - k + 1 was the midpoint of (N inversion steps, N + 1 calls). Optimisation uses the last set.
 */
import type { FluxConfig } from '../flux/config.ts';
import { headDim } from '../flux/config.ts';
import { type BlockSelection, names, type TokenGrid } from '../flux/transformer.ts';
import { f16ToF32, f32ToF16 } from '../weights/dtype.ts';

/** One K/V tensor's elements: heads x tokens x head dim (double blocks: image tokens; single: text + image). */
function kvElements(config: FluxConfig, grid: TokenGrid, kind: 'double' | 'single'): number {
  const tokens = grid.height * grid.width + (kind === 'single' ? grid.textTokens : 0);
  return config.numHeads * tokens * headDim(config);
}

/** Bytes of one call's cached K/V in float16. */
export function kvBytesPerCall(config: FluxConfig, grid: TokenGrid, blocks: BlockSelection): number {
  const perKind = (kind: 'double' | 'single', count: number) =>
    count * 2 * kvElements(config, grid, kind) * 2;
  return perKind('double', blocks.double.length) + perKind('single', blocks.single.length);
}

/** Bytes of the whole cache of one edit: every inversion call (steps - skip steps: one more call). */
export function kvBytesPerEdit(
  config: FluxConfig,
  grid: TokenGrid,
  blocks: BlockSelection,
  inversionSteps: number,
): number {
  return (inversionSteps + 1) * kvBytesPerCall(config, grid, blocks);
}

/** Graph input names of the injected blocks, paired with the capture output names. */
export function kvNames(blocks: BlockSelection): { input: string; output: string }[] {
  return (['double', 'single'] as const).flatMap((kind) =>
    blocks[kind].flatMap((block) =>
      (['k', 'v'] as const).map((which) => ({
        input: names.kvIn(kind, block, which),
        output: names.kvOut(kind, block, which),
      })),
    ),
  );
}

export type KvInputs = Record<string, Float32Array>;

export class KvCache {
  private readonly sets: Map<string, Uint16Array>[] = [];
  private decoded: { index: number; inputs: KvInputs } | null = null;
  private storedBytes = 0;

  constructor(private readonly blocks: BlockSelection) {}

  get calls(): number {
    return this.sets.length;
  }

  get bytes(): number {
    return this.storedBytes;
  }

  /** Stores one call's captured outputs (keyed by capture output name), as call number `calls`. */
  store(outputs: Record<string, Float32Array>): void {
    const set = new Map<string, Uint16Array>();
    for (const { input, output } of kvNames(this.blocks)) {
      const value = outputs[output];
      if (!value) throw new Error(`K/V capture output '${output}' is missing`);
      const half = f32ToF16(value);
      set.set(input, half);
      this.storedBytes += half.byteLength;
    }
    this.sets.push(set);
  }

  /**
   * The injection inputs of cached call `index`, as float32. One set of float32 buffers serves
   * every index (sampling visits 20 in turn): the result is valid until a call with another index.
   */
  inputs(index: number): KvInputs {
    if (this.decoded?.index === index) return this.decoded.inputs;
    const set = this.sets[index];
    if (!set) throw new RangeError(`no K/V captured for call ${index} (${this.sets.length} cached)`);
    const inputs: KvInputs = this.decoded?.inputs ?? {};
    for (const [name, half] of set) inputs[name] = f16ToF32(half, inputs[name]);
    this.decoded = { index, inputs };
    return inputs;
  }

  /** The set the optimisation injects: the last one captured. */
  lastIndex(): number {
    return this.sets.length - 1;
  }

  /** The set sampling call `call` injects (see the module comment). */
  samplingIndex(call: number): number {
    const last = this.sets.length - 1;
    return call === 0 ? last : last - call + 1;
  }
}
