import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  DRAGBENCH_FILES,
  type DragBenchSample,
  readDragBenchSample,
  writeDragBenchSample,
} from '../../src/formats/dragbench.ts';
import type { SampleFormatError } from '../../src/formats/errors.ts';
import { type NumpyArray, PickleTuple, type PickleValue, pickle } from '../../src/formats/pickle.ts';
import { expectSampleError, gradientPng, rectMask, tempFolder } from './fixtures.ts';

const WIDTH = 64;
const HEIGHT = 48;

async function sample(): Promise<DragBenchSample> {
  return {
    image: await gradientPng(WIDTH, HEIGHT),
    prompt: 'a photo of a cat',
    drags: [
      { handle: { x: 10, y: 12 }, target: { x: 20, y: 30 } },
      { handle: { x: 0, y: 0 }, target: { x: 63, y: 47 } },
    ],
    editableMask: rectMask(WIDTH, HEIGHT, [[5, 6, 40, 30]]),
  };
}

function maskArray(overrides: Partial<NumpyArray> = {}): NumpyArray {
  const mask = rectMask(WIDTH, HEIGHT, [[0, 0, 8, 8]]);
  return {
    kind: 'ndarray',
    dtype: 'uint8',
    shape: [HEIGHT, WIDTH],
    fortranOrder: false,
    data: mask.data,
    ...overrides,
  };
}

/** A valid sample folder whose metadata dict has the given entries replaced. */
async function folderWithMetadata(entries: Record<string, PickleValue>): Promise<string> {
  const dir = await tempFolder();
  await writeDragBenchSample(dir, await sample());
  const metadata = new Map<string, PickleValue>([
    ['prompt', 'a cat'],
    [
      'points',
      [
        [1, 2],
        [3, 4],
      ],
    ],
    ['mask', maskArray()],
  ]);
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  await writeFile(join(dir, DRAGBENCH_FILES.metadata), pickle(metadata));
  return dir;
}

function readError(dir: string): Promise<SampleFormatError> {
  return expectSampleError(readDragBenchSample(dir));
}

describe('DragBench samples', () => {
  it('round-trips a sample: write, read, equal', async () => {
    const dir = await tempFolder();
    const written = await sample();
    await writeDragBenchSample(dir, written);
    const read = await readDragBenchSample(dir);
    expect(read).toEqual(written);
    expect(read.editableMask.data.reduce((sum, value) => sum + value, 0)).toBe(35 * 24);
  });

  it('reads meta_data_region.pkl when asked to', async () => {
    const dir = await tempFolder();
    const written = await sample();
    await writeDragBenchSample(dir, written, { metadataFile: 'meta_data_region.pkl' });
    expect(await readDragBenchSample(dir, { metadataFile: 'meta_data_region.pkl' })).toEqual(written);
    expect((await readError(dir)).message).toContain('meta_data.pkl: cannot read the file (no such file)');
  });

  it('accepts points stored as tuples', async () => {
    const dir = await folderWithMetadata({ points: [new PickleTuple([1, 2]), new PickleTuple([3, 4])] });
    expect((await readDragBenchSample(dir)).drags).toEqual([
      { handle: { x: 1, y: 2 }, target: { x: 3, y: 4 } },
    ]);
  });

  it('rejects missing files as sample_unreadable', async () => {
    const dir = await tempFolder();
    await writeDragBenchSample(dir, await sample());
    await rm(join(dir, DRAGBENCH_FILES.image));
    const error = await readError(dir);
    expect(error.code).toBe('sample_unreadable');
    expect(error.file).toBe(join(dir, 'original_image.png'));
  });

  it('rejects an image that is not a PNG', async () => {
    const dir = await tempFolder();
    await writeDragBenchSample(dir, await sample());
    const jpeg = await sharp((await gradientPng(WIDTH, HEIGHT)).bytes)
      .jpeg()
      .toBuffer();
    await writeFile(join(dir, DRAGBENCH_FILES.image), jpeg);
    const error = await readError(dir);
    expect(error.code).toBe('sample_invalid');
    expect(error.message).toContain('original_image.png: is jpeg, expected PNG');
  });

  it('rejects a truncated pickle with the pickle error', async () => {
    const dir = await tempFolder();
    const bytes = pickle(new Map<string, PickleValue>([['prompt', 'a cat']]));
    await writeDragBenchSample(dir, await sample());
    await writeFile(join(dir, DRAGBENCH_FILES.metadata), bytes.subarray(0, bytes.length - 1));
    const error = await readError(dir);
    expect(error.code).toBe('pickle_malformed');
    expect(error.file).toBe(join(dir, 'meta_data.pkl'));
  });

  const invalid: [string, Record<string, PickleValue>, string][] = [
    [
      'an odd point count',
      {
        points: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      },
      'points: has 3 points, expected a positive even count',
    ],
    ['no points', { points: [] }, 'points: has 0 points, expected a positive even count'],
    [
      'a point of three numbers',
      {
        points: [
          [1, 2, 3],
          [3, 4],
        ],
      },
      'points[0]: is a list of 3, expected [x, y]',
    ],
    [
      'a point outside the image',
      {
        points: [
          [1, 2],
          [64, 4],
        ],
      },
      'points[1]: (64, 4) lies outside the 64x48 image',
    ],
    ['a non-str prompt', { prompt: 3 }, 'prompt: is the number 3, expected a str'],
    ['a bool mask', { mask: maskArray({ dtype: 'bool' }) }, 'mask: has dtype bool, expected uint8'],
    [
      'a transposed mask',
      { mask: maskArray({ shape: [WIDTH, HEIGHT] }) },
      'mask: has shape (64, 48), expected (48, 64) to match the image',
    ],
    ['a 3-D mask', { mask: maskArray({ shape: [HEIGHT, WIDTH, 1] }) }, 'mask: has shape (48, 64, 1)'],
    [
      'a mask with 255',
      { mask: maskArray({ data: new Uint8Array(WIDTH * HEIGHT).fill(255, 70) }) },
      'mask: holds 255 at (6, 1), expected only 0 and 1',
    ],
    ['a mask that is a list', { mask: [0, 1] }, 'mask: is a list of 2, expected a numpy array'],
    ['an unknown key', { extra: 1 }, '(top level): has keys [prompt, points, mask, extra], expected exactly'],
  ];
  it.each(invalid)('rejects %s as sample_invalid', async (_, entries, message) => {
    const error = await readError(await folderWithMetadata(entries));
    expect(error.code).toBe('sample_invalid');
    expect(error.message).toContain(message);
  });
});
