/**
 * Bad input through the CLI (issue 12, items 5 and 3): each case exits 2 with one line
 * `error <code>: <message>` naming the flag the user typed, in plain words (no decoder internals,
 * thresholds stated), no stack trace, nothing on stdout; and through the API, the same codes as
 * EditRejected.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runEdit } from '@dragflow/gpu-function/pipeline/edit';
import { EditRejected } from '@dragflow/gpu-function/pipeline/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimingSize } from '../../gpu-function/test/image/png-header.ts';
import {
  blankScene,
  CLI_DISK,
  disk,
  maskPng,
  pngOf,
  requestFor,
  shapeMask,
  writeDiskScene,
} from './scenes.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../gpu-function/bin/dragflow.js');

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-bad-'));
  const { image: png } = await writeDiskScene(file);
  await writeFile(file('mask-small.png'), await maskPng(shapeMask(48, 48, CLI_DISK), 48, 48));
  await writeFile(file('empty.png'), await maskPng(new Uint8Array(64 * 64), 64, 64));
  await writeFile(file('not-an-image.png'), 'this is not a PNG');
  await writeFile(file('grey-mask.png'), await pngOf(new Uint8Array(64 * 64).fill(100), 64, 64, 1));
  await writeFile(file('truncated.png'), png.subarray(0, png.length - 200));
  await writeFile(file('huge.png'), claimingSize(png, 20_000, 20_000));
  await mkdir(file('a-folder.png'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'edit', ...args], {
      env: { ...process.env, DRAGFLOW_CACHE: dir },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('dragflow edit with bad input', () => {
  const out = () => ['--out', file('out.png')];
  const image = (name = 'image.png') => ['--image', file(name)];
  const mask = (name = 'mask.png') => ['--mask', file(name)];
  const relocate = ['--op', 'relocate', '--to', '40,28'];
  const cases: [string, () => string[], string, RegExp][] = [
    [
      'unreadable image',
      () => [...image('not-an-image.png'), ...mask(), ...relocate],
      'image_unreadable',
      /^--image \S*not-an-image\.png: not a PNG, JPEG or WebP image$/,
    ],
    [
      'missing image file',
      () => [...image('nope.png'), ...mask(), ...relocate],
      'image_unreadable',
      /^--image \S*nope\.png: no such file$/,
    ],
    [
      'a folder as the image',
      () => [...image('a-folder.png'), ...mask(), ...relocate],
      'image_unreadable',
      /^--image \S*a-folder\.png: is a folder, not an image file$/,
    ],
    [
      'truncated PNG',
      () => [...image('truncated.png'), ...mask(), ...relocate],
      'image_unreadable',
      /^--image \S*truncated\.png: cannot be decoded: the file is truncated or its image data is corrupt/,
    ],
    [
      '20000x20000 PNG',
      () => [...image('huge.png'), ...mask(), ...relocate],
      'image_too_large',
      /^--image \S*huge\.png: is 20000x20000; each side must be at most 2048$/,
    ],
    [
      'wrong mask size',
      () => [...image(), ...mask('mask-small.png'), ...relocate],
      'mask_size_mismatch',
      /^--mask \S*mask-small\.png: is 48x48 but the image is 64x64/,
    ],
    [
      'target outside the image',
      () => [...image(), ...mask(), '--op', 'relocate', '--to', '70,28'],
      'coordinate_outside_image',
      /^--to: point \(70, 28\) lies outside the 64x64 image/,
    ],
    [
      'negative target',
      () => [...image(), ...mask(), '--op', 'relocate', '--to', '-10,30'],
      'coordinate_outside_image',
      /^--to: point \(-10, 30\) has a negative/,
    ],
    [
      'rotate without anchor',
      () => [...image(), ...mask(), '--op', 'rotate', '--to', '40,28'],
      'anchor_required',
      /^--anchor: is required for a rotate operation/,
    ],
    [
      'empty mask',
      () => [...image(), ...mask('empty.png'), ...relocate],
      'empty_region',
      /^--mask \S*empty\.png: selects no pixels: a pixel is selected when its grey level \(mean of R, G, B\) is above 127 of 255, and the highest here is 0$/,
    ],
    [
      'grey mask below the threshold',
      () => [...image(), ...mask('grey-mask.png'), ...relocate],
      'empty_region',
      /is above 127 of 255, and the highest here is 100$/,
    ],
    [
      'unknown option',
      () => [...image(), ...mask(), ...relocate, '--sped', '3'],
      'usage',
      /^unknown option --sped \(see dragflow edit --help\)$/,
    ],
    [
      'option without its value',
      () => [...image(), ...mask(), '--op', 'relocate', '--to'],
      'usage',
      /^--to needs a value \(see dragflow edit --help\)$/,
    ],
  ];
  it.each(cases)(
    '%s: exit 2 with the contract code',
    async (_name, args, code, message) => {
      const result = await cli([...args(), ...out()]);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      const [, printedCode, printedMessage] = /^error ([a-z_]+): (.*)$/.exec(lines[0]!) ?? [];
      expect(printedCode).toBe(code);
      expect(printedMessage).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
    },
    30_000,
  );
});

describe('runEdit with bad input', () => {
  it('rejects with the contract error before any model work', async () => {
    const scene = blankScene(64, 64);
    const shape = disk(27.5, 27.5, 10);
    const request = await requestFor(scene, [{ kind: 'relocate', shape, target: [40, 28] }]);
    // A PNG cut after its header: the size is known, the pixels are not.
    const png = await pngOf(scene.rgb, 64, 64);
    const truncated = {
      data: `data:image/png;base64,${Buffer.from(png.subarray(0, 40)).toString('base64')}`,
    };
    const cases: [unknown, string, (string | number)[]][] = [
      [
        { ...request, operations: [{ ...request.operations![0]!, target: [64.5, 10] }] },
        'coordinate_outside_image',
        ['operations', 0, 'target'],
      ],
      [
        { ...request, operations: [{ ...request.operations![0]!, kind: 'scale' }] },
        'anchor_required',
        ['operations', 0, 'anchor'],
      ],
      [{ ...request, image: truncated }, 'image_unreadable', ['image']],
      [
        {
          ...request,
          image: { data: `data:image/png;base64,${Buffer.from('not a PNG').toString('base64')}` },
        },
        'media_type_mismatch',
        ['image', 'data'],
      ],
      [{ ...request, options: { transport_lr: -1 } }, 'out_of_range', ['options', 'transport_lr']],
    ];
    for (const [input, code, path] of cases) {
      const error = await runEdit(input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EditRejected);
      expect((error as EditRejected).errors[0]).toMatchObject({ code, path });
    }
  });
});
