/**
 * Open models kept between edits: a worker serving many edits pays for building graphs and
 * opening onnxruntime sessions once per (bundle, image size, operation count, feature layout),
 * not once per edit. At most `capacity` models stay open; the least recently used is released.
 * A model runs one edit at a time (its counters and signal are the edit's): one cache per worker.
 */
import type { Manifest } from '../bundle/manifest.ts';
import type { EditModel } from './model.ts';
import { DEFAULT_PROMPT_CACHE_BYTES, PromptCache } from './prompt-cache.ts';
import type { PromptEncoder } from './prompt-encoder.ts';

export interface OpenedBundle {
  dir: string;
  manifest: Manifest;
}

export const DEFAULT_MODEL_CACHE_CAPACITY = 4;

export class ModelCache {
  private readonly models = new Map<string, Promise<EditModel>>();
  private readonly bundles = new Map<string, Promise<OpenedBundle>>();
  private readonly encoders = new Map<string, Promise<PromptEncoder | undefined>>();
  /** Prompt encodings kept between edits (bounded by bytes). */
  readonly prompts: PromptCache;

  constructor(
    private readonly capacity = DEFAULT_MODEL_CACHE_CAPACITY,
    promptCacheBytes = DEFAULT_PROMPT_CACHE_BYTES,
  ) {
    this.prompts = new PromptCache(promptCacheBytes);
  }

  /** A bundle's prompt encoder (undefined when it has none), opened once per bundle. */
  promptEncoder(
    bundle: string,
    open: () => Promise<PromptEncoder | undefined>,
  ): Promise<PromptEncoder | undefined> {
    let encoder = this.encoders.get(bundle);
    if (!encoder) {
      encoder = open();
      encoder.catch(() => this.encoders.delete(bundle));
      this.encoders.set(bundle, encoder);
    }
    return encoder;
  }

  /** The model for `key`, opened by `open` on first use. */
  async get(key: string, open: () => Promise<EditModel>): Promise<EditModel> {
    let model = this.models.get(key);
    if (model) {
      this.models.delete(key);
    } else {
      model = open();
      model.catch(() => this.models.delete(key));
    }
    this.models.set(key, model);
    while (this.models.size > this.capacity) {
      const [oldest, evicted] = this.models.entries().next().value as [string, Promise<EditModel>];
      this.models.delete(oldest);
      await (await evicted).release();
    }
    return model;
  }

  /** A bundle verified once (every sha256) and then trusted for the cache's lifetime. */
  bundle(dir: string, verify: () => Promise<OpenedBundle>): Promise<OpenedBundle> {
    let bundle = this.bundles.get(dir);
    if (!bundle) {
      bundle = verify();
      bundle.catch(() => this.bundles.delete(dir));
      this.bundles.set(dir, bundle);
    }
    return bundle;
  }

  async release(): Promise<void> {
    this.bundles.clear();
    const encoders = [...this.encoders.values()];
    this.encoders.clear();
    for (const encoder of encoders) await (await encoder)?.release();
    const models = [...this.models.values()];
    this.models.clear();
    for (const model of models) await (await model).release();
  }
}
