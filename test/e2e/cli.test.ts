/**
 * `dragflow edit` from files, a ReD Bench sample and a DragBench sample (64x64 scenes on the demo
 * bundle): exit 0, the image and B written at the image's size, metrics as one JSON object.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeDragBenchSample } from '@dragflow/gpu-function/formats/dragbench';
import { writeRedBenchSample } from '@dragflow/gpu-function/formats/redbench';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_DISK, disk, shapeMask, writeDiskScene } from './scenes.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../gpu-function/bin/dragflow.js');
const SIZE = 64;

let dir: string;
const file = (name: string) => join(dir, name);
const shape = CLI_DISK;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipeline-cli-'));
  const scene = await writeDiskScene(file);
  const image = scene.image;
  const mask = { width: SIZE, height: SIZE, data: scene.mask };
  const encoded = { bytes: image, width: SIZE, height: SIZE };
  await writeRedBenchSample(file('redbench'), {
    image: encoded,
    operationMask: mask,
    operations: [{ task: 'relocate', begin: { x: 27, y: 27 }, target: { x: 44, y: 28 }, anchor: null }],
    pointOperations: [],
    backgroundPrompt: 'a red ball on a green wall',
    editingPrompt: 'the ball moved right',
  });
  const editable = { width: SIZE, height: SIZE, data: shapeMask(SIZE, SIZE, disk(35.5, 27.5, 20)) };
  await writeDragBenchSample(file('dragbench'), {
    image: encoded,
    prompt: 'a red ball',
    drags: [{ handle: { x: 28, y: 28 }, target: { x: 44, y: 28 } }],
    editableMask: editable,
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  return run(process.execPath, [CLI, 'edit', ...args], { env: { ...process.env, DRAGFLOW_CACHE: dir } });
}

async function pixelsOf(path: string) {
  return sharp(await readFile(path))
    .raw()
    .toBuffer({ resolveWithObject: true });
}

describe('dragflow edit', () => {
  it('edits from an image and a mask, writes B and prints the metrics as JSON', async () => {
    const { stdout, stderr } = await cli([
      ...['--image', file('image.png'), '--mask', file('mask.png'), '--op', 'relocate', '--to', '44,28'],
      ...[
        '--seed',
        '7',
        '--prompt',
        'a red ball',
        '--json',
        '--save-mask',
        file('b.png'),
        '--out',
        file('out.png'),
      ],
    ]);
    const metrics = JSON.parse(stdout);
    expect(metrics).toMatchObject({
      model: 'demo',
      transformer_calls: 131,
      image: { width: 64, height: 64 },
    });
    expect(metrics.notes.join('\n')).toContain('seed 7');
    expect(stderr).toMatch(/out\.png: 64x64 png \(RGB, 8-bit\), 131 transformer calls/);
    const out = await pixelsOf(file('out.png'));
    expect(out.info).toMatchObject({ width: 64, height: 64 });
    expect(await sharp(await readFile(file('b.png'))).metadata()).toMatchObject({ width: 64, height: 64 });
    const b = await sharp(await readFile(file('b.png')))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const source = shapeMask(SIZE, SIZE, shape);
    let inB = 0;
    for (let p = 0; p < SIZE * SIZE; p++) {
      expect([0, 255]).toContain(b.data[p]);
      if (source[p]) expect(b.data[p]).toBe(255);
      inB += b.data[p] ? 1 : 0;
    }
    expect(inB / (SIZE * SIZE)).toBeCloseTo(metrics.editable_area_fraction, 6);
  });

  it('edits a ReD Bench sample and a DragBench sample (fast preset)', async () => {
    for (const [flag, sample] of [
      ['--redbench', 'redbench'],
      ['--dragbench', 'dragbench'],
    ] as const) {
      const out = file(`${sample}.png`);
      const { stdout } = await cli([flag, file(sample), '--preset', 'fast', '--json', '--out', out]);
      const metrics = JSON.parse(stdout);
      expect(metrics.operations).toBe(1);
      expect(metrics.calls.drag_step).toBe(22);
      expect((await pixelsOf(out)).info).toMatchObject({ width: 64, height: 64 });
    }
  });
});
