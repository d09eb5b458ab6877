import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SampleFormatError } from '../../src/formats/errors.ts';
import {
  REDBENCH_FILES,
  type RedBenchSample,
  readRedBenchSample,
  writeRedBenchSample,
} from '../../src/formats/redbench.ts';
import type { BinaryMask } from '../../src/image/binary-mask.ts';
import { expectSampleError, gradientPng, greyPng, rectMask, tempFolder } from './fixtures.ts';

const WIDTH = 40;
const HEIGHT = 30;

/** Two regions: a 10x8 box (centroid 9.5, 7.5) and a 6x6 box (centroid 29.5, 21.5). */
const BOX = [5, 4, 15, 12] as [number, number, number, number];
const SQUARE = [27, 19, 33, 25] as [number, number, number, number];

async function sample(): Promise<RedBenchSample> {
  return {
    image: await gradientPng(WIDTH, HEIGHT),
    operationMask: rectMask(WIDTH, HEIGHT, [BOX, SQUARE]),
    operations: [
      {
        task: 'relocate',
        begin: { x: 10, y: 8 },
        target: { x: 20, y: 8 },
        anchor: null,
        sourceMask: rectMask(WIDTH, HEIGHT, [BOX]),
      },
      {
        task: 'rotate',
        begin: { x: 30, y: 22 },
        target: { x: 25, y: 27 },
        anchor: { x: 30, y: 29 },
        sourceMask: rectMask(WIDTH, HEIGHT, [SQUARE]),
      },
    ],
    pointOperations: [{ begin: { x: 6, y: 5 }, target: { x: 16, y: 5 } }],
    backgroundPrompt: 'A grey wall.',
    editingPrompt: 'The box moves right.',
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the tests write deliberately ill-typed JSON.
type LooseJson = Record<string, any>;

async function writtenFolder(): Promise<string> {
  const dir = await tempFolder();
  await writeRedBenchSample(dir, await sample());
  return dir;
}

/** A valid folder whose instruction.json is rewritten by `edit`. */
async function folderWithInstruction(edit: (instruction: LooseJson) => void): Promise<string> {
  const dir = await writtenFolder();
  const file = join(dir, REDBENCH_FILES.instruction);
  const instruction = JSON.parse(await readFile(file, 'utf8'));
  edit(instruction);
  await writeFile(file, JSON.stringify(instruction));
  return dir;
}

async function folderWithMask(mask: BinaryMask, begin: { x: number; y: number }): Promise<string> {
  const dir = await tempFolder();
  const base = await sample();
  const operation = { ...(base.operations[0] as RedBenchSample['operations'][number]), begin };
  await writeRedBenchSample(dir, { ...base, operationMask: mask, operations: [operation] });
  return dir;
}

function readError(dir: string): Promise<SampleFormatError> {
  return expectSampleError(readRedBenchSample(dir));
}

describe('ReD Bench samples', () => {
  it('round-trips a sample: write, read, equal (source masks derived from operation.png)', async () => {
    const dir = await writtenFolder();
    const read = await readRedBenchSample(dir);
    expect(read).toEqual(await sample());
    expect(read.operations.map(({ sourceMask }) => sourceMask.data.reduce((sum, v) => sum + v, 0))).toEqual([
      80, 36,
    ]);
  });

  it('writes the reference task names and 4-space JSON', async () => {
    const text = await readFile(join(await writtenFolder(), REDBENCH_FILES.instruction), 'utf8');
    const instruction = JSON.parse(text);
    expect(instruction.region_operations['0']).toEqual({
      task: 'transformation',
      centroids: [
        [10, 8],
        [20, 8],
      ],
      anchors: null,
    });
    expect(instruction.region_operations['1'].task).toBe('rotation');
    expect(text.split('\n')[1]).toBe('    "region_operations": {');
  });

  it('maps deformation to deform', async () => {
    const dir = await folderWithInstruction((instruction) => {
      instruction.region_operations['0'].task = 'deformation';
    });
    expect((await readRedBenchSample(dir)).operations.map(({ task }) => task)).toEqual(['deform', 'rotate']);
  });

  it('joins pixels that touch only diagonally into one region (8-connectivity)', async () => {
    const mask = rectMask(WIDTH, HEIGHT, [
      [10, 10, 12, 12],
      [12, 12, 14, 14],
    ]);
    const read = await readRedBenchSample(await folderWithMask(mask, { x: 10, y: 10 }));
    expect(read.operations[0]?.sourceMask).toEqual(mask);
  });

  it('takes the region whose centroid is within 2 px when the begin centroid falls in a hole', async () => {
    // A 9x9 ring with a 3x3 hole: centroid (14, 14) is background.
    const ring = rectMask(WIDTH, HEIGHT, [[10, 10, 19, 19]]);
    for (let y = 13; y < 16; y++) ring.data.fill(0, y * WIDTH + 13, y * WIDTH + 16);
    const other = rectMask(WIDTH, HEIGHT, [[30, 2, 34, 6]]);
    const both = { ...ring, data: ring.data.map((value, i) => value | (other.data[i] as number)) };
    const read = await readRedBenchSample(await folderWithMask(both, { x: 14, y: 14 }));
    expect(read.operations[0]?.sourceMask).toEqual(ring);
  });

  it('rejects a begin centroid on the background far from every region centroid', async () => {
    // The box's centroid (9.5, 7.5) is hypot(10.5, 12.5) = 16.3 px from (20, 20).
    const error = await readError(await folderWithMask(rectMask(WIDTH, HEIGHT, [BOX]), { x: 20, y: 20 }));
    expect(error.code).toBe('sample_invalid');
    expect(error.message).toContain(
      '$.region_operations["0"].centroids[0]: begin centroid (20, 20) is not inside any region of operation.png and the nearest region centroid is 16.3 px away (tolerance 2 px)',
    );
  });

  it('rejects missing files as sample_unreadable', async () => {
    const dir = await writtenFolder();
    await rm(join(dir, REDBENCH_FILES.operationMask));
    const error = await readError(dir);
    expect(error.code).toBe('sample_unreadable');
    expect(error.message).toContain('operation.png: cannot read the file (no such file)');
  });

  it('rejects a grey (non-binary) operation mask', async () => {
    const dir = await writtenFolder();
    const values = new Uint8Array(WIDTH * HEIGHT);
    values[WIDTH + 3] = 128;
    await writeFile(join(dir, REDBENCH_FILES.operationMask), await greyPng(WIDTH, HEIGHT, values));
    const error = await readError(dir);
    expect(error.code).toBe('sample_invalid');
    expect(error.message).toContain('operation.png: pixel (3, 1) is not pure black or white');
  });

  it('rejects an operation mask of another size', async () => {
    const dir = await writtenFolder();
    await writeFile(
      join(dir, REDBENCH_FILES.operationMask),
      await greyPng(WIDTH, HEIGHT + 1, new Uint8Array(WIDTH * 31)),
    );
    expect((await readError(dir)).message).toContain('operation.png: mask is 40x31, the image is 40x30');
  });

  it('rejects an instruction.json over the 1 MiB limit before parsing it', async () => {
    const dir = await writtenFolder();
    await writeFile(join(dir, REDBENCH_FILES.instruction), ' '.repeat(1024 * 1024 + 1));
    const error = await readError(dir);
    expect(error.code).toBe('sample_unreadable');
    expect(error.message).toContain('instruction.json: file is 1048577 bytes, over the limit of 1048576');
  });

  it('rejects a file that is not JSON', async () => {
    const dir = await writtenFolder();
    await writeFile(join(dir, REDBENCH_FILES.instruction), '{"region_operations": ');
    const error = await readError(dir);
    expect(error.code).toBe('sample_invalid');
    expect(error.message).toContain('instruction.json: is not valid JSON');
  });

  const invalid: [string, (instruction: LooseJson) => void, string][] = [
    [
      'an unknown task',
      (i) => {
        i.region_operations['0'].task = 'scaling';
      },
      '$.region_operations["0"].task: is "scaling", expected one of transformation, deformation, rotation',
    ],
    [
      'a task named like an Object method',
      (i) => {
        i.region_operations['0'].task = 'constructor';
      },
      '$.region_operations["0"].task: is "constructor", expected one of transformation, deformation, rotation',
    ],
    [
      'a rotation without anchor',
      (i) => {
        i.region_operations['1'].anchors = null;
      },
      '$.region_operations["1"].anchors: is null, but a rotation needs an anchor',
    ],
    [
      'a target centroid outside the image',
      (i) => {
        i.region_operations['0'].centroids[1] = [40, 8];
      },
      '$.region_operations["0"].centroids[1]: (40, 8) lies outside the 40x30 image',
    ],
    [
      'a fractional centroid',
      (i) => {
        i.region_operations['0'].centroids[0] = [9.5, 8];
      },
      '$.region_operations["0"].centroids[0]: is [9.5,8], expected [x, y] with integer x and y',
    ],
    [
      'a single centroid',
      (i) => {
        i.region_operations['0'].centroids = [[10, 8]];
      },
      '$.region_operations["0"].centroids: has 1 points, expected [begin, target]',
    ],
    [
      'operation keys out of sequence',
      (i) => {
        i.region_operations = { '0': i.region_operations['0'], '2': i.region_operations['1'] };
      },
      '$.region_operations["2"]: key "2" is out of sequence, expected "1"',
    ],
    [
      'no region operations',
      (i) => {
        i.region_operations = {};
      },
      '$.region_operations: has 0 operations, expected 1 to 32',
    ],
    [
      'unequal point lists',
      (i) => {
        i.point_operations.target_points = [];
      },
      '$.point_operations: has 1 begin points and 0 target points',
    ],
    [
      'a missing prompt',
      (i) => {
        delete i.editing_prompt;
      },
      '$: lacks "editing_prompt"',
    ],
    [
      'an unknown key',
      (i) => {
        i.region_operations['0'].scale = 2;
      },
      '$.region_operations["0"]: has unknown keys "scale"',
    ],
  ];
  it.each(invalid)('rejects %s as sample_invalid', async (_, edit, message) => {
    const error = await readError(await folderWithInstruction(edit));
    expect(error.code).toBe('sample_invalid');
    expect(error.path).toBe(message.slice(0, message.indexOf(': ')));
    expect(error.message).toContain(`instruction.json at ${message}`);
  });
});
