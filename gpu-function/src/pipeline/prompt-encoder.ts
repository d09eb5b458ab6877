/**
 * Runs a bundle's prompt encoders: tokenizes with the bundle's tokenizer files and runs its T5 and
 * CLIP graphs, giving FLUX's `txt` [T, 4096] and `y` [768] for a prompt. Sessions open on first
 * use and stay open until `release` (the pipeline releases them right after encoding when memory
 * is short, DRAGFLOW_RELEASE_TEXT_ENCODERS: T5-XXL holds gigabytes); a later `encode` reopens them.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../bundle/manifest.ts';
import type { TextEncodersEntry } from '../bundle/model-config.ts';
import { fromOrtTensor } from '../graph/ort-data.ts';
import { textNames } from '../text/graph-options.ts';
import { loadPromptTokenizers, type PromptTokenizers } from '../text/tokenizer-files.ts';
import { SESSION_OPTIONS } from './device.ts';

/** One prompt's conditioning: T5 tokens (txt, [T x width] row-major) and CLIP's pooled vector (y). */
export interface TextConditioning {
  readonly prompt: string;
  readonly txt: Float32Array;
  readonly y: Float32Array;
}

export interface PromptEncoderOptions {
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

/** The environment setting that asks to release the encoders' memory after encoding. */
export const RELEASE_TEXT_ENCODERS_ENV = 'DRAGFLOW_RELEASE_TEXT_ENCODERS';

/** True when DRAGFLOW_RELEASE_TEXT_ENCODERS is "1" or "true". */
export function releaseTextEncodersSetting(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[RELEASE_TEXT_ENCODERS_ENV]?.toLowerCase();
  return value === '1' || value === 'true';
}

function ids(tokens: readonly number[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(tokens, (t) => BigInt(t)),
    [1, tokens.length],
  );
}

export class PromptEncoder {
  private sessions: { t5: ort.InferenceSession; clip: ort.InferenceSession } | undefined;
  /** Prompts encoded by this encoder's graphs (cache hits excluded). */
  encodedCount = 0;

  private constructor(
    private readonly bundleDir: string,
    private readonly entry: TextEncodersEntry,
    private readonly graphFiles: { t5: string; clip: string },
    private readonly tokenizers: PromptTokenizers,
    private readonly options: PromptEncoderOptions,
  ) {}

  /** The bundle's encoders, or undefined when the bundle has none. */
  static async open(
    bundleDir: string,
    manifest: Manifest,
    options: PromptEncoderOptions = {},
  ): Promise<PromptEncoder | undefined> {
    const entry = manifest.text_encoders;
    if (entry === undefined) return undefined;
    const file = (name: string) => manifest.graphs.find((g) => g.name === name)!.file;
    const tokenizers = await loadPromptTokenizers(bundleDir, {
      t5: entry.t5.max_tokens,
      clip: entry.clip.max_tokens,
    });
    return new PromptEncoder(
      bundleDir,
      entry,
      { t5: file(entry.t5.graph), clip: file(entry.clip.graph) },
      tokenizers,
      options,
    );
  }

  /** T5 width x tokens and CLIP width: the sizes of `txt` and `y`. */
  get shape(): { tokens: number; width: number; pooled: number } {
    return {
      tokens: this.entry.t5.max_tokens,
      width: this.entry.t5.config.dModel,
      pooled: this.entry.clip.config.hiddenSize,
    };
  }

  /** Encodes each prompt once (the list may repeat one). */
  async encode(prompts: readonly string[]): Promise<Map<string, TextConditioning>> {
    const out = new Map<string, TextConditioning>();
    for (const prompt of prompts) {
      if (!out.has(prompt)) out.set(prompt, await this.encodeOne(prompt));
    }
    return out;
  }

  private async encodeOne(prompt: string): Promise<TextConditioning> {
    const sessions = await this.open();
    const t5 = await sessions.t5.run({ [textNames.inputIds]: ids(this.tokenizers.t5.encode(prompt)) });
    const clip = await sessions.clip.run({ [textNames.inputIds]: ids(this.tokenizers.clip.encode(prompt)) }, [
      textNames.pooled,
    ]);
    this.encodedCount++;
    return {
      prompt,
      txt: fromOrtTensor(t5[textNames.lastHiddenState]!) as Float32Array,
      y: fromOrtTensor(clip[textNames.pooled]!) as Float32Array,
    };
  }

  private async open(): Promise<{ t5: ort.InferenceSession; clip: ort.InferenceSession }> {
    if (!this.sessions) {
      const options = { ...SESSION_OPTIONS, ...this.options.sessionOptions };
      const t5 = await ort.InferenceSession.create(join(this.bundleDir, this.graphFiles.t5), options);
      const clip = await ort.InferenceSession.create(
        join(this.bundleDir, this.graphFiles.clip),
        options,
      ).catch(async (error: unknown) => {
        await t5.release();
        throw error;
      });
      this.sessions = { t5, clip };
    }
    return this.sessions;
  }

  /** Whether the encoder sessions (and so their weights) are in memory. */
  get isOpen(): boolean {
    return this.sessions !== undefined;
  }

  /** Frees the encoder sessions; the next `encode` opens them again. */
  async release(): Promise<void> {
    const sessions = this.sessions;
    this.sessions = undefined;
    if (sessions) {
      await sessions.t5.release();
      await sessions.clip.release();
    }
  }
}
