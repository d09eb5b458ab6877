import { checkAgainstImage, parseEditRequest } from '@dragflow/shared/edit-request';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { DragBenchSample } from '../../src/formats/dragbench.ts';
import { dragBenchToEditRequest, redBenchToEditRequest } from '../../src/formats/edit-request.ts';
import type { RedBenchSample } from '../../src/formats/redbench.ts';
import type { BinaryMask } from '../../src/image/binary-mask.ts';
import { gradientPng, rectMask } from './fixtures.ts';

const SIZE = { width: 80, height: 64 };

/** Decodes a data-URI PNG mask back to 0/1 values. */
async function maskFromRef(ref: { data?: string } | undefined): Promise<BinaryMask> {
  const base64 = ref?.data?.replace('data:image/png;base64,', '') ?? '';
  const { data, info } = await sharp(Buffer.from(base64, 'base64'))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: Uint8Array.from(data, (value) => (value === 255 ? 1 : 0)),
  };
}

function expectValid(request: unknown) {
  const parsed = parseEditRequest(request);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const checked = checkAgainstImage(parsed.value, SIZE);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return checked.value;
}

describe('reference samples as edit requests', () => {
  it('turns a DragBench sample into point drags and an editable mask the contract accepts', async () => {
    const sample: DragBenchSample = {
      image: await gradientPng(SIZE.width, SIZE.height),
      prompt: 'a photo of a cat',
      drags: [
        { handle: { x: 10, y: 12 }, target: { x: 20, y: 30 } },
        { handle: { x: 79, y: 63 }, target: { x: 0, y: 0 } },
      ],
      editableMask: rectMask(SIZE.width, SIZE.height, [[5, 6, 40, 30]]),
    };
    const request = expectValid(await dragBenchToEditRequest(sample));
    expect(request.drags).toEqual([
      { handle: [10, 12], target: [20, 30] },
      { handle: [79, 63], target: [0, 0] },
    ]);
    expect(request.prompts).toEqual({ background: 'a photo of a cat' });
    expect(request.image.data).toBe(
      `data:image/png;base64,${Buffer.from(sample.image.bytes).toString('base64')}`,
    );
    expect(await maskFromRef(request.editable_mask)).toEqual(sample.editableMask);
  });

  it('turns a ReD Bench sample into region operations the contract accepts', async () => {
    const box = rectMask(SIZE.width, SIZE.height, [[5, 4, 15, 12]]);
    const square = rectMask(SIZE.width, SIZE.height, [[50, 40, 60, 50]]);
    const sample: RedBenchSample = {
      image: await gradientPng(SIZE.width, SIZE.height),
      operationMask: rectMask(SIZE.width, SIZE.height, [
        [5, 4, 15, 12],
        [50, 40, 60, 50],
      ]),
      operations: [
        // A stray anchor on a relocation is dropped: the contract allows anchors on rotations only.
        {
          task: 'relocate',
          begin: { x: 10, y: 8 },
          target: { x: 30, y: 8 },
          anchor: { x: 1, y: 1 },
          sourceMask: box,
        },
        {
          task: 'rotate',
          begin: { x: 55, y: 45 },
          target: { x: 45, y: 55 },
          anchor: { x: 55, y: 60 },
          sourceMask: square,
        },
        { task: 'deform', begin: { x: 10, y: 8 }, target: { x: 12, y: 20 }, anchor: null, sourceMask: box },
      ],
      pointOperations: [{ begin: { x: 6, y: 5 }, target: { x: 26, y: 5 } }],
      backgroundPrompt: 'A grey wall.',
      editingPrompt: 'The box moves right.',
    };
    const request = expectValid(await redBenchToEditRequest(sample));
    const operations = request.operations ?? [];
    expect(operations.map(({ kind, target, anchor }) => ({ kind, target, anchor }))).toEqual([
      { kind: 'relocate', target: [30, 8], anchor: undefined },
      { kind: 'rotate', target: [45, 55], anchor: [55, 60] },
      { kind: 'deform', target: [12, 20], anchor: undefined },
    ]);
    expect(await Promise.all(operations.map(({ source }) => maskFromRef(source.mask)))).toEqual([
      box,
      square,
      box,
    ]);
    expect(request.prompts).toEqual({ background: 'A grey wall.', editing: 'The box moves right.' });
    expect(request.drags).toBeUndefined();
  });
});
