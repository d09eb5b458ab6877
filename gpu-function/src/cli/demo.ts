/**
 * `npx dragflow demo`: a real DragFlow edit on the embedded demo bundle. The sample is
 * synthesised here (a red ball on a sky-to-ground gradient, 256x256); the ball is relocated 96 px to
 * the right. The inputs, the result and the editable mask B are written to --out (default: a
 * `dragflow-demo` folder in the system temp folder) and their paths printed.
 *
 * The demo bundle has no generative prior: the ball moves, but the area it leaves is not repainted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EditRequest } from '@dragflow/shared/edit-request';
import { DEMO_IMAGE_SIZE } from '../bundle/demo.ts';
import { encodeImage } from '../image/encode.ts';
import { editToFiles, reportFailure } from './edit.ts';
import type { Command } from './main.ts';

const BALL = { x: 76, y: 132, radius: 36 };
const MOVE_X = 96;

/** The scene and the ball's mask, as interleaved RGB. */
export function demoScene(): { rgb: Uint8Array; mask: Uint8Array; width: number; height: number } {
  const { width, height } = DEMO_IMAGE_SIZE;
  const rgb = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inBall = Math.hypot(x + 0.5 - BALL.x, y + 0.5 - BALL.y) <= BALL.radius;
      const ground = y >= 176;
      const sky = [110 + (y * 80) / height, 160 + (y * 50) / height, 230];
      const colour = inBall ? [215, 45, 40] : ground ? [90, 140, 70] : sky;
      for (let c = 0; c < 3; c++) {
        rgb[i + c] = Math.round(colour[c]!);
        mask[i + c] = inBall ? 255 : 0;
      }
    }
  }
  return { rgb, mask, width, height };
}

export const demo: Command = {
  summary: 'run a demo drag edit on the embedded demo bundle (writes the result and prints where)',
  async run(args) {
    try {
      const { values } = parseArgs({
        args,
        options: { out: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      const dir = values.out ?? join(tmpdir(), 'dragflow-demo');
      await mkdir(dir, { recursive: true });
      const scene = demoScene();
      const png = async (rgb: Uint8Array) => encodeImage(rgb, scene.width, scene.height, { format: 'png' });
      const files = { input: join(dir, 'input.png'), mask: join(dir, 'mask.png') };
      await writeFile(files.input, await png(scene.rgb));
      await writeFile(files.mask, await png(scene.mask));
      const dataUri = async (rgb: Uint8Array) =>
        `data:image/png;base64,${(await png(rgb)).toString('base64')}`;
      const request: EditRequest = {
        image: { data: await dataUri(scene.rgb) },
        operations: [
          {
            kind: 'relocate',
            source: { mask: { data: await dataUri(scene.mask) } },
            target: [BALL.x + MOVE_X, BALL.y],
          },
        ],
        prompts: {
          background: 'a red ball in front of a blue sky above green grass',
          editing: 'the ball moved to the right',
        },
        options: { background_compositing: true },
      };
      process.stderr.write(
        `dragflow demo: relocating the ball in ${files.input} by ${MOVE_X} px on the demo bundle\n`,
      );
      const out = join(dir, 'edited.png');
      const saveMask = join(dir, 'editable-mask.png');
      const code = await editToFiles(request, { out, saveMask, json: values.json });
      process.stdout.write(
        `input:         ${files.input}\nmask:          ${files.mask}\nedited:        ${out}\neditable mask: ${saveMask}\n`,
      );
      return code;
    } catch (error) {
      return reportFailure(error);
    }
  },
};
