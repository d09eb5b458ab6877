/**
 * Prompts that condition the model: an edit on a tiny random bundle that carries T5 and CLIP
 * encoders and the test tokenizer files. The source prompt conditions inversion, the target prompt
 * supervision and the edit branch; encodings are cached by prompt in the worker's ModelCache.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRandomBundle } from '@dragflow/gpu-function/bundle/build';
import { verifyBundle } from '@dragflow/gpu-function/bundle/verify';
import { type EditResult, runEdit } from '@dragflow/gpu-function/pipeline/edit';
import { ModelCache } from '@dragflow/gpu-function/pipeline/model-cache';
import { PromptEncoder } from '@dragflow/gpu-function/pipeline/prompt-encoder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankScene, disk, paint, requestFor } from './scenes.ts';

const TOKENIZERS = new URL('../../gpu-function/test/text/fixtures/', import.meta.url).pathname;
let root: string;
let bundleDir: string;
let sha: string;
const previousCache = process.env.DRAGFLOW_CACHE;
const models = new ModelCache();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pipeline-prompts-'));
  process.env.DRAGFLOW_CACHE = join(root, 'cache');
  bundleDir = join(root, 'tiny-text');
  await buildRandomBundle('tiny', 5, bundleDir, { tokenizers: TOKENIZERS });
  sha = (await verifyBundle(bundleDir)).manifest_sha256;
});

afterAll(async () => {
  await models.release();
  if (previousCache === undefined) delete process.env.DRAGFLOW_CACHE;
  else process.env.DRAGFLOW_CACHE = previousCache;
  await rm(root, { recursive: true, force: true });
});

const shape = disk(27.5, 27.5, 10);
const scene = blankScene(64, 64);
paint(scene, shape, [220, 40, 40]);

async function edit(
  prompts: { background?: string; editing?: string } | undefined,
  release?: boolean,
): Promise<EditResult> {
  const request = await requestFor(scene, [{ kind: 'relocate', shape, target: [44, 28] }]);
  if (prompts) request.prompts = prompts;
  return runEdit(request, {
    bundleDir,
    models,
    ...(release === undefined ? {} : { releaseTextEncoders: release }),
  });
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('an edit with two different prompts on a tiny bundle with text encoders', () => {
  // Short enough for the tiny grid's 8 T5 tokens, so the two prompts differ within them.
  const background = 'a red ball';
  const editing = 'moved';
  let first: EditResult;

  it('feeds a non-zero text stream that differs between source and target', async () => {
    first = await edit({ background, editing });
    expect(first.metrics.text_encoder_runs).toBe(2);
    const source = models.prompts.get(sha, background)!;
    const target = models.prompts.get(sha, `${background} ${editing}`)!;
    expect(source.txt).toHaveLength(8 * 12); // the tiny grid's 8 T5 tokens x contextInDim 12
    expect(source.y).toHaveLength(8); // CLIP width = vecInDim
    const figures = {
      sourceTxt: maxAbs(source.txt),
      sourceY: maxAbs(source.y),
      targetTxt: maxAbs(target.txt),
      targetY: maxAbs(target.y),
      txtDifference: maxDifference(source.txt, target.txt),
      yDifference: maxDifference(source.y, target.y),
    };
    console.log(`text stream max |.|: ${JSON.stringify(figures)}`);
    for (const v of Object.values(figures)) expect(v).toBeGreaterThan(1e-3);
    const notes = first.metrics.notes.join('\n');
    expect(notes).toContain('text conditioning: T5 tiny-t5 (8 tokens) + CLIP tiny-clip pooled');
    expect(notes).toContain(`target prompt ${JSON.stringify(`${background} ${editing}`)}`);
    expect(notes).not.toContain('text conditioning: absent');
  });

  it('skips the encoders for repeated prompts and conditions the edit on the target prompt', async () => {
    const again = await edit({ background, editing });
    expect(again.metrics.text_encoder_runs).toBe(0);
    expect(Buffer.from(again.encoded).equals(Buffer.from(first.encoded))).toBe(true);
    const other = await edit({ background, editing: 'the ball turned upside down' });
    expect(other.metrics.text_encoder_runs).toBe(1); // the source prompt came from the cache
    let changed = 0;
    for (let i = 0; i < other.rgb.length; i++) if (other.rgb[i] !== first.rgb[i]) changed++;
    console.log(`another target prompt changes ${changed} of ${other.rgb.length} output values`);
    expect(changed).toBeGreaterThan(100);
  });

  it('encodes the empty string when there is no prompt, never a zero stream', async () => {
    const none = await edit(undefined);
    expect(none.metrics.text_encoder_runs).toBe(1); // source and target are both ''
    const empty = models.prompts.get(sha, '')!;
    expect(maxAbs(empty.txt)).toBeGreaterThan(1e-3);
    expect(maxAbs(empty.y)).toBeGreaterThan(1e-3);
    expect(none.metrics.notes.join('\n')).toContain('source prompt "" for inversion');
  });

  it('releases the encoders after encoding when the setting asks', async () => {
    const encoder = await models.promptEncoder(sha, () => PromptEncoder.open(bundleDir, undefined as never));
    expect(encoder?.isOpen).toBe(true);
    const released = await edit({ background: 'a new scene', editing: 'and a new change' }, true);
    expect(released.metrics.text_encoder_runs).toBe(2);
    expect(encoder?.isOpen).toBe(false);
    // The next new prompt reopens them.
    await edit({ background: 'another scene' });
    expect(encoder?.isOpen).toBe(true);
  });
});
