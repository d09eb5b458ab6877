/**
 * Edits on photo-sized and photo-like inputs (issue 12 items 1, 2 and 7; issue 15 item 6), through
 * the pipeline API on the demo bundle with the fast preset and small working sizes:
 * - a 2048x1024 photo edits on a crop around B at a bounded working size, and every pixel outside
 *   B is identical at full resolution;
 * - an over-budget edit is refused before any model work;
 * - alpha, 16-bit samples and greyscale are kept (exactly outside B);
 * - no input pixel is lost to the multiple-of-16 rule (a region in the last columns still moves);
 * - point drags keep B inside the editable mask unless asked to grow.
 */

import { decodeImage } from '@dragflow/gpu-function/image/decode';
import { type ProgressEvent, runEdit } from '@dragflow/gpu-function/pipeline/edit';
import { EditRejected } from '@dragflow/gpu-function/pipeline/errors';
import type { EditRequest } from '@dragflow/shared/edit-request';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { dataUri, disk, maskPng, pngOf, reportFigures, shapeMask, useTemporaryCache } from './scenes.ts';

useTemporaryCache('pipeline-photos-');

/** A photo-like RGB image: smooth gradients with a fine deterministic texture (no flat areas). */
function texturedRgb(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const grain = ((x * 73_856_093) ^ (y * 19_349_663)) >>> 27;
      const i = (y * width + x) * 3;
      rgb[i] = (60 + ((x * 120) / width + grain)) | 0;
      rgb[i + 1] = (90 + ((y * 100) / height + grain)) | 0;
      rgb[i + 2] = (140 + (((x + y) % 64) * 40) / 64) | 0;
    }
  }
  return rgb;
}

/** The red disk painted into an RGB image. */
function paintDisk(rgb: Uint8Array, width: number, height: number, shape: (x: number, y: number) => boolean) {
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) if (shape(x, y)) rgb.set([220, 40, 40], (y * width + x) * 3);
}

/** A textured photo with a red disk, and the request (fast preset) that moves the disk to `target`. */
async function diskOnPhoto(
  width: number,
  height: number,
  shape: ReturnType<typeof disk>,
  target: [number, number],
): Promise<{ rgb: Uint8Array; request: EditRequest }> {
  const rgb = texturedRgb(width, height);
  paintDisk(rgb, width, height, shape);
  const request: EditRequest = {
    image: dataUri(await pngOf(rgb, width, height)),
    operations: [
      {
        kind: 'relocate',
        source: { mask: dataUri(await maskPng(shapeMask(width, height, shape), width, height)) },
        target,
      },
    ],
    options: { preset: 'fast' },
  };
  return { rgb, request };
}

describe('a 2048x1024 photo', () => {
  it('edits a crop around B at a bounded working size and keeps every pixel outside B exactly', async () => {
    const [width, height] = [2048, 1024];
    const { rgb, request } = await diskOnPhoto(width, height, disk(1500.5, 500.5, 30), [1541, 501]);
    const result = await runEdit(request, { maxWorkingPixels: 128 * 128 });
    const { working_crop: crop, working_image: working } = result.metrics;
    expect([result.width, result.height]).toEqual([width, height]);
    expect(working.width * working.height).toBeLessThanOrEqual(128 * 128);
    expect([working.width % 16, working.height % 16]).toEqual([0, 0]);
    let inB = 0;
    let changedOutside = 0;
    const decoded = await decodeImage(result.encoded);
    for (let p = 0; p < width * height; p++) {
      const x = p % width;
      const y = (p - x) / width;
      if (result.editableMask.data[p]) {
        inB++;
        // B lies inside the crop the model saw.
        expect(x >= crop.x && x < crop.x + crop.width && y >= crop.y && y < crop.y + crop.height).toBe(true);
        continue;
      }
      for (let c = 0; c < 3; c++) {
        if (decoded.rgb[p * 3 + c] !== rgb[p * 3 + c] || result.rgb[p * 3 + c] !== rgb[p * 3 + c])
          changedOutside++;
      }
    }
    reportFigures('photo 2048x1024', {
      crop_x: crop.x,
      crop_y: crop.y,
      crop_width: crop.width,
      crop_height: crop.height,
      working_width: working.width,
      working_height: working.height,
      pixels_in_b: inB,
      samples_changed_outside_b: changedOutside,
    });
    expect(inB).toBeGreaterThan(0);
    expect(changedOutside).toBe(0);
    // The moved disk arrives: the target centre is red at full resolution.
    const centre = (501 * width + 1541) * 3;
    expect(decoded.rgb[centre]! - decoded.rgb[centre + 1]!).toBeGreaterThan(100);
  });

  it('is refused before any model work when its estimate is over the budget', async () => {
    const { request } = await diskOnPhoto(2048, 1024, disk(1000.5, 500.5, 200), [1101, 501]);
    const phases: string[] = [];
    const error = await runEdit(request, {
      budget: { memoryBytes: 512 * 1024 ** 2, seconds: 3600 },
      onProgress: (event: ProgressEvent) => phases.push(`${event.phase} ${event.step}/${event.total}`),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EditRejected);
    const rejection = (error as EditRejected).errors[0]!;
    expect(rejection.code).toBe('over_budget');
    expect(rejection.message).toMatch(
      /^image: the edit needs an estimated \d+\.\d\d GiB of memory at the working size \d+x\d+; the budget is 0\.50 GiB$/,
    );
    expect(phases).toEqual(['preparing 0/1']);
  });
  it('says when a region is too small to survive the resize to the working size', async () => {
    const { request } = await diskOnPhoto(2048, 1024, disk(300.5, 500.5, 250), [700, 501]);
    const tiny = await maskPng(shapeMask(2048, 1024, disk(1800.5, 500.5, 1.5)), 2048, 1024);
    request.operations!.push({ kind: 'relocate', source: { mask: dataUri(tiny) }, target: [1821, 501] });
    const phases: string[] = [];
    const error = await runEdit(request, {
      maxWorkingPixels: 64 * 64,
      onProgress: (event: ProgressEvent) => phases.push(event.phase),
    }).catch((e: unknown) => e);
    expect((error as EditRejected).errors[0]).toMatchObject({
      code: 'empty_region',
      path: ['operations', 1, 'source'],
    });
    expect((error as EditRejected).errors[0]!.message).toMatch(
      /^operations\[1\]\.source: is too small to keep any pixel at the working size \d+x\d+ \(the \d+x\d+ crop around the edit resized\); select a larger region or raise the working size$/,
    );
    expect(phases).toEqual(['preparing']);
  });
});

describe('pixel layouts', () => {
  const size = 96;
  const shape = disk(30.5, 48.5, 12);
  const target: [number, number] = [61, 49];
  const maskUri = async () => dataUri(await maskPng(shapeMask(size, size, shape), size, size));

  /** Samples of the output vs the input outside B: the count that differ. */
  async function outsideB(input: Uint8Array, request: EditRequest) {
    const result = await runEdit(request);
    const before = await decodeImage(input);
    const after = await decodeImage(result.encoded);
    const channels = before.samples.data.length / (size * size);
    let differ = 0;
    for (let p = 0; p < size * size; p++) {
      if (result.editableMask.data[p]) continue;
      for (let c = 0; c < channels; c++)
        if (before.samples.data[p * channels + c] !== after.samples.data[p * channels + c]) differ++;
    }
    return { result, after, differ };
  }

  it('keeps alpha: transparent pixels outside B stay transparent, B is opaque', async () => {
    const rgba = new Uint8Array(size * size * 4);
    for (let p = 0; p < size * size; p++) {
      const x = p % size;
      rgba.set(shape(x, (p - x) / size) ? [220, 40, 40, 255] : [0, 120, 0, x < 48 ? 0 : 128], p * 4);
    }
    const png = new Uint8Array(
      await sharp(rgba, { raw: { width: size, height: size, channels: 4 } })
        .png()
        .toBuffer(),
    );
    const { result, after, differ } = await outsideB(png, {
      image: dataUri(png),
      operations: [{ kind: 'relocate', source: { mask: await maskUri() }, target }],
      options: { preset: 'fast' },
    });
    expect(after.samples.layout).toEqual({ grey: false, alpha: true, depth: 8 });
    expect(differ).toBe(0);
    // The target centre is deep inside B: weight 1, opaque.
    expect(after.samples.data[(48 * size + 60) * 4 + 3]).toBe(255);
    expect(result.metrics.notes.join('\n')).toContain('input RGB + alpha, 8-bit: kept exactly outside B');
  });

  it('keeps 16-bit samples and greyscale', async () => {
    const rgb16 = Uint16Array.from({ length: size * size * 3 }, (_, i) => (i * 2_654_435_761) >>> 16);
    const png16 = new Uint8Array(
      await sharp(rgb16, { raw: { width: size, height: size, channels: 3 } })
        .toColourspace('rgb16')
        .png()
        .toBuffer(),
    );
    const deep = await outsideB(png16, {
      image: dataUri(png16),
      operations: [{ kind: 'relocate', source: { mask: await maskUri() }, target }],
      options: { preset: 'fast' },
    });
    expect(deep.after.samples.layout).toEqual({ grey: false, alpha: false, depth: 16 });
    expect(deep.differ).toBe(0);

    const grey = Uint8Array.from({ length: size * size }, (_, p) =>
      shape(p % size, Math.floor(p / size)) ? 230 : 60 + (p % 37),
    );
    const jpeg = new Uint8Array(
      await sharp(grey, { raw: { width: size, height: size, channels: 1 } })
        .toColourspace('b-w')
        .jpeg({ quality: 95 })
        .toBuffer(),
    );
    const request: EditRequest = {
      image: { data: `data:image/jpeg;base64,${Buffer.from(jpeg).toString('base64')}` },
      operations: [{ kind: 'relocate', source: { mask: await maskUri() }, target }],
      options: { preset: 'fast' },
    };
    const grey8 = await outsideB(jpeg, request);
    expect(grey8.after.samples.layout).toEqual({ grey: true, alpha: false, depth: 8 });
    expect(grey8.differ).toBe(0);
    const asJpeg = await runEdit({ ...request, options: { preset: 'fast', output_format: 'jpeg' } });
    expect((await sharp(asJpeg.encoded).metadata()).channels).toBe(1);
  });
});

describe('no input pixel lost to the multiple-of-16 rule', () => {
  it('moves a region in the last columns of a 100x72 image (resized, not cropped)', async () => {
    const width = 100;
    const { request } = await diskOnPhoto(width, 72, disk(92.5, 36.5, 6), [60, 37]);
    const result = await runEdit(request);
    expect(result.metrics.working_crop).toEqual({ x: 0, y: 0, width: 100, height: 72 });
    expect(result.metrics.working_image).toEqual({ width: 96, height: 80 });
    // Columns 96..99 were dropped before; the region there now moves: the target is red.
    const at = (36 * width + 59) * 3;
    expect(result.rgb[at]! - result.rgb[at + 1]!).toBeGreaterThan(100);
  });
});

describe('point drags and the editable mask', () => {
  const size = 128;
  const object = disk(40.5, 64.5, 14);
  // The user's editable area: the object and a little around it, not where the drag ends.
  const editable = disk(48.5, 64.5, 26);

  async function dragRequest(grow: boolean): Promise<EditRequest> {
    const rgb = texturedRgb(size, size);
    paintDisk(rgb, size, size, object);
    return {
      image: dataUri(await pngOf(rgb, size, size)),
      drags: [{ handle: [40.5, 64.5], target: [80.5, 64.5] }],
      editable_mask: dataUri(await maskPng(shapeMask(size, size, editable), size, size)),
      options: { preset: 'fast', grow_editable_mask: grow },
    };
  }

  it('keeps B inside the editable mask by default: nothing outside it changes', async () => {
    const result = await runEdit(await dragRequest(false));
    const mask = shapeMask(size, size, editable);
    let bOutside = 0;
    for (let p = 0; p < size * size; p++) if (result.editableMask.data[p] && !mask[p]) bOutside++;
    const outside = result.metrics.outside_editable_mask!;
    reportFigures('drag within mask', {
      b_pixels_outside_mask: bOutside,
      changed_outside_mask: outside.changed,
    });
    expect(bOutside).toBe(0);
    expect(outside).toEqual({ pixels: size * size - mask.reduce((a, b) => a + b, 0), changed: 0, share: 0 });
  });

  it('lets B grow beyond it when asked, and reports the changed share outside', async () => {
    const result = await runEdit(await dragRequest(true));
    const outside = result.metrics.outside_editable_mask!;
    reportFigures('drag grown', { changed_outside_mask: outside.changed, share: outside.share });
    expect(outside.changed).toBeGreaterThan(0);
    expect(outside.share).toBeCloseTo(outside.changed / outside.pixels, 12);
  });
});
