/**
 * `npx dragflow demo`: a real DragFlow edit on the embedded demo bundle. The sample is
 * synthesised here (a red ball on a sky-to-ground gradient, 256x256); the ball is relocated 96 px to
 * the right. The inputs, the result and the editable mask B are written to --out (default: a
 * `dragflow-demo` folder in the system temp folder) and their paths printed (with --json, one JSON
 * document holding the metrics and the paths).
 *
 * The demo bundle has no generative prior: the ball moves, but the area it leaves is not repainted.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EditRequest } from '@dragflow/shared/edit-request';
import { DEMO_IMAGE_SIZE } from '../bundle/demo.ts';
import { encodeImage } from '../image/encode.ts';
import { CliError, type Command, EXIT, EXIT_CODE_TABLE, parseFlags, wantsHelp } from './command.ts';
import { editToFiles } from './edit.ts';
import { reportFailure } from './failure.ts';
import { checkOutputs, writeOutputs } from './output-files.ts';

const BALL = { x: 76, y: 132, radius: 36 };
const DEFAULT_DIR = join(tmpdir(), 'dragflow-demo');
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

const USAGE = [
  'usage: dragflow demo [--out <dir>] [--force] [--preset paper|fast] [--json]',
  '',
  'Synthesises a 256x256 scene (a red ball over a sky and a meadow), relocates the ball 96 px to the',
  'right on the embedded demo bundle (built on first use), and writes input.png, mask.png, edited.png',
  'and editable-mask.png.',
  '',
  `  --out <dir>      where to write them (default ${DEFAULT_DIR}, whose files each run replaces);`,
  '                   files already in a folder you name are replaced only with --force.',
  "  --preset <name>  paper (default: the paper's settings) or fast (fewer steps, not the paper's).",
  '  --json           print one JSON document on stdout: the metrics and the file paths.',
  '  -h, --help       this help.',
  '',
  'The demo bundle has no generative prior: the ball moves, the area it leaves is not repainted, and',
  'the edit shows 8x8 block mosaics and ghost copies (README, "What the demo bundle shows").',
  EXIT_CODE_TABLE,
].join('\n');

const FLAGS = {
  out: { type: 'string' },
  force: { type: 'boolean' },
  preset: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const demo: Command = {
  summary: 'run a demo drag edit on the embedded demo bundle (writes the result and prints where)',
  usage: USAGE,
  interruptible: true,
  async run(args, context) {
    if (wantsHelp(args)) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const json = args.includes('--json');
    try {
      const { values } = parseFlags('demo', args, FLAGS);
      const dir = typeof values.out === 'string' ? values.out : DEFAULT_DIR;
      // The default folder is the demo's own: its files from an earlier run are replaced.
      const force = values.force === true || dir === DEFAULT_DIR;
      const preset = values.preset ?? 'paper';
      if (preset !== 'paper' && preset !== 'fast') {
        throw new CliError('invalid_value', `--preset must be paper or fast, got "${preset}"`);
      }
      const files = {
        input: { flag: '--out', path: join(dir, 'input.png') },
        mask: { flag: '--out', path: join(dir, 'mask.png') },
        edited: { flag: '--out', path: join(dir, 'edited.png') },
        editableMask: { flag: '--out', path: join(dir, 'editable-mask.png') },
      };
      await checkOutputs(Object.values(files), [], force);
      const scene = demoScene();
      const png = async (rgb: Uint8Array) => encodeImage(rgb, scene.width, scene.height, { format: 'png' });
      const inputPng = await png(scene.rgb);
      const maskPng = await png(scene.mask);
      await writeOutputs(
        [
          { ...files.input, bytes: inputPng },
          { ...files.mask, bytes: maskPng },
        ],
        force,
      );
      const dataUri = (bytes: Uint8Array) => `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`;
      const request: EditRequest = {
        image: { data: dataUri(inputPng) },
        operations: [
          {
            kind: 'relocate',
            source: { mask: { data: dataUri(maskPng) } },
            target: [BALL.x + MOVE_X, BALL.y],
          },
        ],
        prompts: {
          background: 'a red ball in front of a blue sky above green grass',
          editing: 'the ball moved to the right',
        },
        options: { background_compositing: true, ...(preset === 'fast' ? { preset } : {}) },
      };
      process.stderr.write(
        `dragflow demo: relocating the ball in ${files.input.path} by ${MOVE_X} px on the demo bundle\n`,
      );
      const result = await editToFiles(
        request,
        { out: files.edited, saveMask: files.editableMask, force },
        { signal: context.signal },
      );
      const paths = {
        input: files.input.path,
        mask: files.mask.path,
        edited: files.edited.path,
        editable_mask: files.editableMask.path,
      };
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ ...result.metrics, files: paths })}\n`);
      } else {
        process.stdout.write(
          `input:         ${paths.input}\nmask:          ${paths.mask}\nedited:        ${paths.edited}\neditable mask: ${paths.editable_mask}\n`,
        );
      }
      return EXIT.ok;
    } catch (error) {
      return reportFailure(error, { json });
    }
  },
};
