import { parseEditRequest } from '@dragflow/shared/edit-request';
import { formatPath } from '@dragflow/shared/errors';
import type { ImageRef } from '@dragflow/shared/image-ref';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { maskCentroid } from '../../src/dragflow/region.ts';
import { requestOperations } from '../../src/dragflow/request-operations.ts';
import type { InputError } from '../../src/image/input-error.ts';
import { blockMask, pixelsOf } from './helpers.ts';

/** The decoded image is 70 x 40; operations come at that size (the working size is chosen later). */
const image = { width: 70, height: 40 };

/** A white-on-black PNG of the image's size with the block x0..x1, y0..y1 white. */
async function maskPng(x0: number, y0: number, x1: number, y1: number): Promise<Uint8Array> {
  const { data } = blockMask(image.width, image.height, x0, y0, x1, y1);
  return sharp(Buffer.from(data.map((v) => v * 255)), { raw: { width: 70, height: 40, channels: 1 } })
    .png()
    .toBuffer();
}

function parsed(json: unknown) {
  const result = parseEditRequest(json);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

const uploads = new Map<string, Uint8Array>();
const load = async (ref: ImageRef) => uploads.get(ref.upload ?? '')!;

async function errorOf(json: unknown): Promise<[string, string]> {
  try {
    await requestOperations(parsed(json), image, load);
  } catch (error) {
    const { code, path } = (error as InputError).error;
    return [code, formatPath(path)];
  }
  throw new Error('expected a rejection');
}

describe('requestOperations', () => {
  it('builds operations from polygons and masks in pixel-centre coordinates at the image size', async () => {
    uploads.set('mask', await maskPng(20, 10, 23, 13));
    const { operations: ops, editableMask } = await requestOperations(
      parsed({
        image: { upload: 'photo' },
        operations: [
          // Request square [2, 6] x [4, 8] covers pixel centres 2..5 x 4..7.
          {
            kind: 'relocate',
            source: {
              polygons: [
                [
                  [2, 4],
                  [6, 4],
                  [6, 8],
                  [2, 8],
                ],
              ],
            },
            target: [30.5, 6.5],
          },
          { kind: 'rotate', source: { mask: { upload: 'mask' } }, target: [10, 30], anchor: [5, 5] },
        ],
      }),
      image,
      load,
    );
    expect(ops.map((op) => [op.kind, op.source.width, op.source.height])).toEqual([
      ['relocate', 70, 40],
      ['rotate', 70, 40],
    ]);
    expect(editableMask).toBeNull();
    expect(pixelsOf(ops[0]!.source)).toEqual(pixelsOf(blockMask(70, 40, 2, 4, 5, 7)));
    expect(ops[0]!.target).toEqual({ x: 30, y: 6 });
    expect(maskCentroid(ops[1]!.source)).toEqual({ x: 21.5, y: 11.5 });
    expect(ops[1]!.anchor).toEqual({ x: 4.5, y: 4.5 });
  });

  it('turns drags on an editable mask into operations', async () => {
    uploads.set('editable', await maskPng(10, 10, 14, 14));
    const { operations: ops, editableMask } = await requestOperations(
      parsed({
        image: { upload: 'photo' },
        drags: [{ handle: [12.5, 12.5], target: [40.5, 20.5] }],
        editable_mask: { upload: 'editable' },
      }),
      image,
      load,
    );
    expect(ops).toHaveLength(1);
    expect(ops[0]!.kind).toBe('relocate');
    expect(ops[0]!.target).toEqual({ x: 40, y: 20 });
    expect(pixelsOf(editableMask!)).toEqual(pixelsOf(blockMask(70, 40, 10, 10, 14, 14)));
  });

  it('keeps regions in the right columns (no crop), reports empty regions and drags without an editable mask', async () => {
    // Columns 64..69: a region there is kept (the working size is taken by resizing, not cropping).
    const strip = {
      kind: 'relocate',
      source: {
        polygons: [
          [
            [65, 1],
            [69, 1],
            [69, 9],
          ],
        ],
      },
      target: [10, 10],
    };
    const { operations } = await requestOperations(
      parsed({ image: { upload: 'photo' }, operations: [strip] }),
      image,
      load,
    );
    expect(maskCentroid(operations[0]!.source)!.x).toBeGreaterThan(64);
    // A sliver thinner than a pixel centre selects nothing.
    const sliver = {
      ...strip,
      source: {
        polygons: [
          [
            [65.1, 1],
            [65.2, 1],
            [65.2, 9],
          ],
        ],
      },
    };
    expect(await errorOf({ image: { upload: 'photo' }, operations: [sliver] })).toEqual([
      'empty_region',
      'operations[0].source',
    ]);
    expect(
      await errorOf({ image: { upload: 'photo' }, drags: [{ handle: [1, 1], target: [2, 2] }] }),
    ).toEqual(['required', 'editable_mask']);
  });
});
