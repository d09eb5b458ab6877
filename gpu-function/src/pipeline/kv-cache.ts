/**
 * The K/V cache of KV injection: the keys and values of the injected blocks at every inversion call,
 * in float16 (half the memory of float32; the values are activations of order 1-100, far inside
 * float16's range). The graphs cast K/V to float16 on capture and back on injection (`kvDtype`), so
 * the cache holds onnxruntime's float16 data (16-bit patterns) as returned and feeds it back as is.
 * Which cached set a later call gets: dragflow/kv-order.ts.
 */
import type { FluxConfig } from '../flux/config.ts';
import { headDim } from '../flux/config.ts';
import { type BlockSelection, names, type TokenGrid } from '../flux/transformer.ts';

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

/** One call's K/V, float16 bit patterns keyed by injection input name (what the graphs take). */
export type KvInputs = Readonly<Record<string, Uint16Array>>;

export class KvCache {
  private readonly sets: KvInputs[] = [];
  private storedBytes = 0;

  constructor(private readonly blocks: BlockSelection) {}

  get calls(): number {
    return this.sets.length;
  }

  get bytes(): number {
    return this.storedBytes;
  }

  /** Stores one call's captured outputs (keyed by capture output name), as call number `calls`. */
  store(outputs: Readonly<Record<string, Float32Array | Uint16Array>>): void {
    const set: Record<string, Uint16Array> = {};
    let bytes = 0;
    for (const { input, output } of kvNames(this.blocks)) {
      const value = outputs[output];
      if (!value) throw new Error(`K/V capture output '${output}' is missing`);
      if (!(value instanceof Uint16Array)) throw new Error(`K/V capture output '${output}' is not float16`);
      set[input] = value;
      bytes += value.byteLength;
    }
    this.sets.push(set);
    this.storedBytes += bytes;
  }

  /** The injection inputs of cached call `index`. */
  inputs(index: number): KvInputs {
    const set = this.sets[index];
    if (!set) throw new RangeError(`no K/V captured for call ${index} (${this.sets.length} cached)`);
    return set;
  }
}
