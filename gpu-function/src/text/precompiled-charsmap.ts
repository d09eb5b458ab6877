/**
 * SentencePiece's normalization by a precompiled character map (the `precompiled_charsmap` of a
 * model's normalizer spec, e.g. nmt_nfkc for T5). The map is a double-array trie (darts-clone
 * layout) over UTF-8 byte sequences whose values point into a pool of NUL-terminated replacement
 * strings. At each position the longest matching sequence is replaced; where nothing matches, one
 * character is copied unchanged.
 *
 * Blob layout: uint32 little-endian trie size in bytes, the trie's 32-bit units, then the pool.
 */
import { TextModelError } from './errors.ts';

interface Charsmap {
  readonly units: Uint32Array;
  readonly pool: Uint8Array;
}

const parsed = new WeakMap<Uint8Array, Charsmap>();

function parse(blob: Uint8Array): Charsmap {
  const cached = parsed.get(blob);
  if (cached) return cached;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const trieBytes = blob.byteLength >= 4 ? view.getUint32(0, true) : -1;
  if (trieBytes < 0 || trieBytes % 4 !== 0 || 4 + trieBytes > blob.byteLength) {
    throw new TextModelError(
      'tokenizer_invalid',
      `precompiled charsmap: trie of ${trieBytes} bytes does not fit the ${blob.byteLength}-byte map`,
    );
  }
  const units = new Uint32Array(trieBytes / 4);
  for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + 4 * i, true);
  const map = { units, pool: blob.subarray(4 + trieBytes) };
  parsed.set(blob, map);
  return map;
}

// darts-clone unit fields.
const hasLeaf = (unit: number) => ((unit >>> 8) & 1) === 1;
const leafValue = (unit: number) => unit & 0x7fffffff;
const labelOf = (unit: number) => unit & 0x800000ff;
const offsetOf = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);

/** Length and pool offset of the longest trie key that prefixes `bytes` at `start`; length 0 when none. */
function longestMatch(map: Charsmap, bytes: Uint8Array, start: number): { length: number; value: number } {
  const { units } = map;
  let best = { length: 0, value: 0 };
  let node = offsetOf(units[0] ?? 0);
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i]!;
    node ^= byte;
    const unit = units[node];
    if (unit === undefined || labelOf(unit) !== byte) break;
    node ^= offsetOf(unit);
    if (hasLeaf(unit)) {
      const leaf = units[node];
      if (leaf === undefined) break;
      best = { length: i - start + 1, value: leafValue(leaf) };
    }
  }
  return best;
}

/** Bytes in the UTF-8 character that starts with `lead` (1 for a stray continuation byte). */
function utf8Length(lead: number): number {
  if (lead < 0xc0) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `text` with every longest match of the map replaced, as SentencePiece's normalizer does before its whitespace rules. */
export function normalizeWithCharsmap(blob: Uint8Array, text: string): string {
  if (blob.byteLength === 0) return text;
  const map = parse(blob);
  const bytes = encoder.encode(text);
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const { length, value } = longestMatch(map, bytes, i);
    if (length === 0) {
      const n = Math.min(utf8Length(bytes[i]!), bytes.length - i);
      for (let k = 0; k < n; k++) out.push(bytes[i + k]!);
      i += n;
      continue;
    }
    for (let p = value; p < map.pool.length && map.pool[p] !== 0; p++) out.push(map.pool[p]!);
    i += length;
  }
  return decoder.decode(Uint8Array.from(out));
}
