/**
 * The one place that decides what text an edit is conditioned on (method doc: inversion with the
 * background prompt, supervision with the target prompt; the official code samples both branches
 * with the target prompt too):
 * - a bundle with text encoders: each prompt is encoded, and NO prompt is the encoded EMPTY string
 *   (the official code always encodes a prompt; a zero text stream is an input FLUX never saw);
 * - a bundle without them (the demo): the text stream is zeros of the right shape, and the edit's
 *   notes say that text conditioning is absent.
 * Each distinct prompt is encoded once per edit; a worker's PromptCache skips repeated prompts.
 */
import type { Manifest } from '../bundle/manifest.ts';
import type { PromptCache } from './prompt-cache.ts';
import type { PromptEncoder, TextConditioning } from './prompt-encoder.ts';

export interface EditPrompts {
  /** Describes the scene: inversion. */
  source: string;
  /** Background + editing prompt: supervision, both sampling branches and z_bg's half step (reference code). */
  target: string;
}

export interface EditText {
  source: TextConditioning;
  target: TextConditioning;
  /** What the edit's metrics say about its text conditioning. */
  notes: string[];
  /** Prompts the encoders ran on during this edit (cache hits excluded). */
  encoded: number;
}

export interface TextStreamShape {
  /** T5 tokens (the transformer's text tokens). */
  tokens: number;
  /** T5 width (the transformer's contextInDim). */
  width: number;
  /** CLIP width (the transformer's vecInDim). */
  pooled: number;
}

/** The text conditioning of an edit on `manifest`'s bundle. `encoder` is undefined when the bundle has none. */
export async function editText(
  manifest: Manifest,
  prompts: EditPrompts,
  shape: TextStreamShape,
  encoder: PromptEncoder | undefined,
  cache?: PromptCache,
): Promise<EditText> {
  if (encoder === undefined) {
    const zeros = (prompt: string): TextConditioning => ({
      prompt,
      txt: new Float32Array(shape.tokens * shape.width),
      y: new Float32Array(shape.pooled),
    });
    return {
      source: zeros(prompts.source),
      target: zeros(prompts.target),
      encoded: 0,
      notes: [
        `text conditioning: absent (this bundle has no text encoders); the text stream is zeros; prompts recorded, not encoded: source ${JSON.stringify(prompts.source)}, target ${JSON.stringify(prompts.target)}`,
      ],
    };
  }
  const bundle = manifest.manifest_sha256;
  const found = new Map<string, TextConditioning>();
  for (const prompt of new Set([prompts.source, prompts.target])) {
    const hit = cache?.get(bundle, prompt);
    if (hit) found.set(prompt, hit);
  }
  const missing = [...new Set([prompts.source, prompts.target])].filter((p) => !found.has(p));
  for (const [prompt, encoded] of await encoder.encode(missing)) {
    found.set(prompt, encoded);
    cache?.set(bundle, encoded);
  }
  const { tokens } = encoder.shape;
  const text = manifest.text_encoders!;
  return {
    source: found.get(prompts.source)!,
    target: found.get(prompts.target)!,
    encoded: missing.length,
    notes: [
      `text conditioning: T5 ${text.t5.config.name} (${tokens} tokens) + CLIP ${text.clip.config.name} pooled; source prompt ${JSON.stringify(prompts.source)} for inversion, target prompt ${JSON.stringify(prompts.target)} for supervision and both sampling branches (an absent prompt is the encoded empty string); ${missing.length} encoded, ${new Set([prompts.source, prompts.target]).size - missing.length} from the prompt cache`,
    ],
  };
}
