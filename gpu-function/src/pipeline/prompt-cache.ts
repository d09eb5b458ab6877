/**
 * Prompt encodings kept between edits in a worker: an edit whose prompt was seen before skips the
 * text encoders. Bounded by bytes (least recently used out first); keyed by bundle and prompt, so
 * two bundles never share an entry. A FLUX.1-dev encoding is 8 MiB (512 x 4096 float32 + 768).
 */
import type { TextConditioning } from './prompt-encoder.ts';

export const DEFAULT_PROMPT_CACHE_BYTES = 64 * 1024 * 1024;

function bytesOf(entry: TextConditioning): number {
  return entry.txt.byteLength + entry.y.byteLength;
}

export class PromptCache {
  private readonly entries = new Map<string, TextConditioning>();
  private bytes = 0;
  hits = 0;

  constructor(readonly maxBytes = DEFAULT_PROMPT_CACHE_BYTES) {}

  private static key(bundle: string, prompt: string): string {
    return `${bundle}\u0000${prompt}`;
  }

  get(bundle: string, prompt: string): TextConditioning | undefined {
    const key = PromptCache.key(bundle, prompt);
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.hits++;
    }
    return entry;
  }

  /** Stores an encoding unless it alone exceeds the bound; evicts the least recently used to fit. */
  set(bundle: string, entry: TextConditioning): void {
    const size = bytesOf(entry);
    if (size > this.maxBytes) return;
    const key = PromptCache.key(bundle, entry.prompt);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= bytesOf(old);
    }
    while (this.bytes + size > this.maxBytes) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, TextConditioning];
      this.entries.delete(oldestKey);
      this.bytes -= bytesOf(oldest);
    }
    this.entries.set(key, entry);
    this.bytes += size;
  }

  get size(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }
}
