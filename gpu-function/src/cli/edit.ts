/**
 * `dragflow edit`: one DragFlow edit from files, with the same contract, errors, work plan and
 * pipeline as the service. Output paths are checked before any work and written atomically after
 * it (output-files.ts); failures print `error <code>: <message>` naming the flag at fault
 * (failure.ts); exit codes as in command.ts.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { EditRequest, RegionOperation } from '@dragflow/shared/edit-request';
import { formatPath, type Path } from '@dragflow/shared/errors';
import { MEDIA_TYPES, sniffImageFormat } from '@dragflow/shared/image-info';
import type { ImageRef } from '@dragflow/shared/image-ref';
import { PRESET_NAMES } from '@dragflow/shared/presets';
import { maskCentroid } from '../dragflow/region.ts';
import { DRAGBENCH_FILES, readDragBenchSample } from '../formats/dragbench.ts';
import { dragBenchToEditRequest, redBenchToEditRequest } from '../formats/edit-request.ts';
import { readRedBenchSample } from '../formats/redbench.ts';
import { encodePngMask } from '../formats/sample-files.ts';
import { readHeader } from '../image/decode.ts';
import { decodeMask, MASK_THRESHOLD } from '../image/mask.ts';
import { describeLayout } from '../image/pixel-layout.ts';
import { DEVICES } from '../pipeline/device.ts';
import { type EditResult, type EditRunOptions, runEdit } from '../pipeline/edit.ts';
import { EditCanceled } from '../pipeline/errors.ts';
import { type Budget, defaultBudget, WORKING_PIXELS_RANGE } from '../pipeline/work-plan.ts';
import {
  CliError,
  type Command,
  type CommandContext,
  EXIT,
  EXIT_CODE_TABLE,
  type FlagValues,
  parseFlags,
  wantsHelp,
} from './command.ts';
import { type FailureOptions, reportFailure } from './failure.ts';
import { checkOutputs, type NamedPath, writeOutputs } from './output-files.ts';
import { progressDisplay } from './progress-display.ts';

const MAX_WORKING_SIDE = Math.floor(Math.sqrt(WORKING_PIXELS_RANGE.max));

const USAGE = [
  'usage:',
  '  dragflow edit --image <file> --mask <png> --op relocate|deform|rotate|scale --to <x,y> --out <file>',
  '                [--anchor <x,y>] [--scale <f>] [--prompt <text>] [options]',
  '  dragflow edit --redbench <sample dir> --out <file> [options]',
  '  dragflow edit --dragbench <sample dir> --out <file> [--grow-editable-mask] [options]',
  '',
  'Points are pixels, x right, y down, origin at the top-left corner of the image (negative',
  'values are allowed: --to -10,30).',
  '--mask: the region to move, white on black (a pixel is selected when its grey level, or its',
  `      alpha when the mask has transparency, is above ${MASK_THRESHOLD} of 255); same size as the image.`,
  '--to: where the region centroid goes (relocate, deform, rotate); for scale, the handle whose',
  '      distance to --anchor sets the factor; or give --scale <f> instead of --to.',
  '--prompt: the background prompt (describes the scene). The demo bundle has no text encoder:',
  '      prompts are recorded, not encoded.',
  '',
  'options:',
  '  --out <file>           the edited image (.png, .jpg, .jpeg or .webp); never an input file.',
  "                         PNG keeps the input's alpha, 16-bit samples and greyscale.",
  '  --save-mask <png>      also write the editable mask B (the only pixels the edit may change).',
  '  --force                replace --out / --save-mask if they exist (default: refuse).',
  `  --preset <name>        ${PRESET_NAMES.join(' | ')}: paper (default) is the paper's settings;`,
  '                         fast is NOT: a shorter schedule and fewer drag iterations for quick tries.',
  '  --seed <n>             seed (recorded; no step draws random numbers).',
  '  --bundle <dir>         model bundle (default: the embedded demo bundle, generated on first use).',
  '  --device cpu|cuda      where the model runs (default cpu; cuda: bfloat16 on the first GPU, needs',
  '                         onnxruntime-node installed with its CUDA provider; a missing library is named).',
  `  --working-size <side>  the model works on at most side x side pixels (64..${MAX_WORKING_SIDE};`,
  '                         default 1024 for FLUX.1 bundles, 512 otherwise); larger photos are cropped',
  '                         around the edit and/or resized, and the result goes back into the full photo.',
  '  --max-memory <GiB>     refuse an edit whose estimated peak memory is over this',
  "                         (default: 75% of this machine's memory).",
  '  --max-seconds <s>      refuse an edit whose estimated time is over this (default 3600).',
  "  --grow-editable-mask   with --dragbench: let B grow beyond the sample's editable mask",
  "                         (default: nothing outside the sample's mask changes).",
  '  --json                 print one JSON document on stdout: the metrics, or {"error": ...}.',
  '  -h, --help             this help.',
  '',
  'Progress goes to stderr: a bar on a terminal, plain lines otherwise.',
  EXIT_CODE_TABLE,
].join('\n');

const FLAGS = {
  image: { type: 'string' },
  mask: { type: 'string' },
  op: { type: 'string' },
  to: { type: 'string' },
  anchor: { type: 'string' },
  scale: { type: 'string' },
  prompt: { type: 'string' },
  bundle: { type: 'string' },
  seed: { type: 'string' },
  preset: { type: 'string' },
  'save-mask': { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  out: { type: 'string' },
  redbench: { type: 'string' },
  dragbench: { type: 'string' },
  'grow-editable-mask': { type: 'boolean' },
  'working-size': { type: 'string' },
  'max-memory': { type: 'string' },
  'max-seconds': { type: 'string' },
  device: { type: 'string' },
} as const;

const OPS = ['relocate', 'deform', 'rotate', 'scale'] as const;
const FORMATS: Record<string, 'png' | 'jpeg' | 'webp'> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
};

const GIB = 1024 ** 3;

function str(values: FlagValues, name: keyof typeof FLAGS): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function dataRef(bytes: Uint8Array, mediaType: string): ImageRef {
  return { data: `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}` };
}

/** A file's bytes as an inline image reference with the media type its signature says. */
async function readImageFile(path: string, flag: string): Promise<{ bytes: Uint8Array; ref: ImageRef }> {
  let bytes: Uint8Array;
  try {
    if ((await stat(path)).isDirectory()) {
      throw new CliError('image_unreadable', `${flag} ${path}: is a folder, not an image file`);
    }
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : `cannot be read (${code})`;
    throw new CliError('image_unreadable', `${flag} ${path}: ${why}`);
  }
  const format = sniffImageFormat(bytes);
  if (!format) throw new CliError('image_unreadable', `${flag} ${path}: not a PNG, JPEG or WebP image`);
  return { bytes, ref: dataRef(bytes, MEDIA_TYPES[format]) };
}

function parsePoint(value: string | undefined, flag: string): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || numbers.some((n) => !Number.isFinite(n))) {
    throw new CliError('invalid_value', `${flag} must be two numbers "x,y", got "${value}"`);
  }
  return [numbers[0]!, numbers[1]!];
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new CliError('invalid_value', `${flag} must be a positive number, got "${value}"`);
  }
  return number;
}

/** The anchor + factor of `--scale f` as the contract's target: anchor + f (centroid - anchor). */
async function scaleTarget(image: Uint8Array, mask: Uint8Array, anchor: [number, number], factor: number) {
  const size = (await readHeader(image, ['image'])).autoOrient;
  // decodeMask refuses a mask that selects nothing.
  const centroid = maskCentroid(await decodeMask(mask, size, ['operations', 0, 'source', 'mask']))!;
  // Pixel-centre centroid to the request's continuous coordinates.
  const [bx, by] = [centroid.x + 0.5, centroid.y + 0.5];
  return [anchor[0] + factor * (bx - anchor[0]), anchor[1] + factor * (by - anchor[1])] as [number, number];
}

/** The input files a run reads (an output must never be one of them). */
function inputFiles(values: FlagValues): NamedPath[] {
  const redbench = str(values, 'redbench');
  const dragbench = str(values, 'dragbench');
  if (redbench !== undefined) {
    return ['original_image.png', 'operation.png', 'instruction.json'].map((name) => ({
      flag: '--redbench',
      path: join(redbench, name),
    }));
  }
  if (dragbench !== undefined) {
    return [DRAGBENCH_FILES.image, DRAGBENCH_FILES.metadata].map((name) => ({
      flag: '--dragbench',
      path: join(dragbench, name),
    }));
  }
  return (['image', 'mask'] as const).flatMap((flag) => {
    const path = str(values, flag);
    return path === undefined ? [] : [{ flag: `--${flag}`, path }];
  });
}

/** Names the flag a request path came from (see failure.ts). */
function pathDescriber(values: FlagValues): (path: Path) => string | undefined {
  const sample =
    str(values, 'redbench') !== undefined
      ? 'redbench'
      : str(values, 'dragbench') !== undefined
        ? 'dragbench'
        : null;
  return (path) => {
    const [head, , field] = path;
    if (sample) return `--${sample} ${str(values, sample)}: ${formatPath(path)}`;
    if (head === 'image') return `--image ${str(values, 'image')}`;
    if (head === 'operations' && field === 'source') return `--mask ${str(values, 'mask')}`;
    if (head === 'operations' && field === 'target')
      return str(values, 'scale') === undefined ? '--to' : '--scale';
    if (head === 'operations' && field === 'anchor') return '--anchor';
    if (head === 'options' && typeof path[1] === 'string') return `--${path[1].replace(/_/g, '-')}`;
    return undefined;
  };
}

async function requestFromFlags(values: FlagValues): Promise<EditRequest> {
  const redbench = str(values, 'redbench');
  const dragbench = str(values, 'dragbench');
  if (redbench !== undefined) return redBenchToEditRequest(await readRedBenchSample(redbench));
  if (dragbench !== undefined) return dragBenchToEditRequest(await readDragBenchSample(dragbench));
  for (const flag of ['image', 'mask', 'op'] as const) {
    if (str(values, flag) === undefined)
      throw new CliError('required', `--${flag} is required (or give --redbench / --dragbench)`);
  }
  const kind = OPS.find((op) => op === str(values, 'op'));
  if (!kind)
    throw new CliError('invalid_value', `--op must be one of ${OPS.join(', ')}, got "${str(values, 'op')}"`);
  const image = await readImageFile(str(values, 'image')!, '--image');
  const mask = await readImageFile(str(values, 'mask')!, '--mask');
  const anchor = parsePoint(str(values, 'anchor'), '--anchor');
  let target = parsePoint(str(values, 'to'), '--to');
  const scale = str(values, 'scale');
  if (scale !== undefined) {
    if (kind !== 'scale')
      throw new CliError('field_not_allowed', `--scale is used with --op scale only, not ${kind}`);
    if (target) throw new CliError('conflicting_fields', '--scale and --to cannot be given together');
    const factor = positiveNumber(scale, '--scale')!;
    if (!anchor)
      throw new CliError('anchor_required', '--anchor is required for a scale operation (the pivot point)');
    target = await scaleTarget(image.bytes, mask.bytes, anchor, factor);
  }
  if (!target) throw new CliError('required', '--to is required (or --scale with --op scale)');
  const operation: RegionOperation = { kind, source: { mask: mask.ref }, target };
  if (anchor) operation.anchor = anchor;
  const request: EditRequest = { image: image.ref, operations: [operation] };
  const prompt = str(values, 'prompt');
  if (prompt !== undefined) request.prompts = { background: prompt };
  return request;
}

/** Options from flags: seed, preset, B's growth, the output format from --out's extension, compositing on. */
function withCliOptions(
  request: EditRequest,
  values: FlagValues,
  format: 'png' | 'jpeg' | 'webp',
): EditRequest {
  const options = { background_compositing: true, ...request.options, output_format: format };
  const seed = str(values, 'seed');
  if (seed !== undefined) {
    if (!/^\d+$/.test(seed))
      throw new CliError('invalid_value', `--seed must be a non-negative integer, got "${seed}"`);
    options.seed = Number(seed);
  }
  const preset = str(values, 'preset');
  if (preset !== undefined) {
    const known = PRESET_NAMES.find((name) => name === preset);
    if (!known)
      throw new CliError(
        'invalid_value',
        `--preset must be one of ${PRESET_NAMES.join(', ')}, got "${preset}"`,
      );
    options.preset = known;
  }
  if (values['grow-editable-mask']) {
    if (!request.drags) {
      throw new CliError(
        'field_not_allowed',
        '--grow-editable-mask applies to point drags (--dragbench) only',
      );
    }
    options.grow_editable_mask = true;
  }
  return { ...request, options };
}

function outputFormat(out: string): 'png' | 'jpeg' | 'webp' {
  const format = FORMATS[extname(out).toLowerCase()];
  if (!format)
    throw new CliError('invalid_value', `--out must end in .png, .jpg, .jpeg or .webp, got "${out}"`);
  return format;
}

/** Device, working size and budget from flags. */
export function runLimits(
  values: FlagValues,
): Pick<EditRunOptions, 'maxWorkingPixels' | 'budget' | 'device'> {
  const limits: Pick<EditRunOptions, 'maxWorkingPixels' | 'budget' | 'device'> = {};
  const device = str(values, 'device');
  if (device !== undefined) {
    const known = DEVICES.find((name) => name === device);
    if (!known)
      throw new CliError('invalid_value', `--device must be one of ${DEVICES.join(', ')}, got '${device}'`);
    limits.device = known;
  }
  const side = str(values, 'working-size');
  if (side !== undefined) {
    const n = Number(side);
    const min = Math.sqrt(WORKING_PIXELS_RANGE.min);
    if (!/^\d+$/.test(side) || n < min || n > MAX_WORKING_SIDE) {
      throw new CliError(
        'invalid_value',
        `--working-size must be an integer from ${min} to ${MAX_WORKING_SIDE}, got "${side}"`,
      );
    }
    limits.maxWorkingPixels = n * n;
  }
  const memory = positiveNumber(str(values, 'max-memory'), '--max-memory');
  const seconds = positiveNumber(str(values, 'max-seconds'), '--max-seconds');
  if (memory !== undefined || seconds !== undefined) {
    const budget: Budget = defaultBudget();
    if (memory !== undefined) budget.memoryBytes = memory * GIB;
    if (seconds !== undefined) budget.seconds = seconds;
    limits.budget = budget;
  }
  return limits;
}

export interface EditOutputs {
  out: NamedPath;
  saveMask?: NamedPath;
  force: boolean;
}

export interface EditToFilesOptions
  extends Pick<EditRunOptions, 'maxWorkingPixels' | 'budget' | 'bundleDir'> {
  signal: AbortSignal;
}

/**
 * Runs `request` (outputs already checked with checkOutputs), writes the image and B atomically,
 * prints the summary lines on stderr; returns the result. Shared by `edit` and `demo`.
 */
export async function editToFiles(
  request: EditRequest,
  outputs: EditOutputs,
  options: EditToFilesOptions,
): Promise<EditResult> {
  const display = progressDisplay(process.stderr);
  const { signal, ...run } = options;
  const result = await runEdit(request, { ...run, signal, onProgress: display.onProgress }).finally(() =>
    display.end(),
  );
  // Ctrl-C during the last host steps (no transformer call left to notice it): still write nothing.
  if (signal.aborted) throw new EditCanceled(result.metrics.transformer_calls);
  const files = [{ ...outputs.out, bytes: result.encoded }];
  if (outputs.saveMask) files.push({ ...outputs.saveMask, bytes: await encodePngMask(result.editableMask) });
  await writeOutputs(files, outputs.force);
  const m = result.metrics;
  const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;
  process.stderr.write(
    `${outputs.out.path}: ${result.width}x${result.height} ${result.format} (${describeLayout(result.layout)}), ` +
      `${m.transformer_calls} transformer calls, ${m.total_seconds.toFixed(1)} s, peak memory ${gib(m.peak_rss_bytes)} ` +
      `(estimated ${gib(m.estimate.peak_memory_bytes)}), working image ${m.working_image.width}x${m.working_image.height} (model ${m.model})\n`,
  );
  if (m.outside_editable_mask) {
    const { changed, pixels, share } = m.outside_editable_mask;
    process.stderr.write(
      `changed outside the editable mask: ${changed} of ${pixels} pixels (${(share * 100).toFixed(2)}%)\n`,
    );
  }
  if (!m.generative_prior) {
    process.stderr.write(
      `note: model ${m.model} has no generative prior: expect 8x8 block mosaics and ghost copies behind a moved ` +
        'region, and no repainted background (README, "What the demo bundle shows"); a FLUX.1 bundle (--bundle) repaints them\n',
    );
  }
  return result;
}

/** Advice appended to over-budget refusals. */
export const BUDGET_HINT = 'lower --working-size or raise --max-memory / --max-seconds';

export const edit: Command = {
  summary: 'run one drag edit (region operation, ReD Bench or DragBench sample) on a bundle',
  usage: USAGE,
  interruptible: true,
  async run(args, context: CommandContext) {
    if (wantsHelp(args)) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const failure: FailureOptions = { json: args.includes('--json'), hints: { over_budget: BUDGET_HINT } };
    try {
      const { values } = parseFlags('edit', args, FLAGS);
      failure.describePath = pathDescriber(values);
      const out = str(values, 'out');
      if (out === undefined) throw new CliError('required', '--out <file> is required');
      if (str(values, 'redbench') !== undefined && str(values, 'dragbench') !== undefined) {
        throw new CliError('conflicting_fields', '--redbench and --dragbench cannot be given together');
      }
      const format = outputFormat(out);
      const saveMask = str(values, 'save-mask');
      if (saveMask !== undefined && extname(saveMask).toLowerCase() !== '.png') {
        throw new CliError('invalid_value', `--save-mask must end in .png, got "${saveMask}"`);
      }
      const outputs: EditOutputs = {
        out: { flag: '--out', path: out },
        ...(saveMask === undefined ? {} : { saveMask: { flag: '--save-mask', path: saveMask } }),
        force: values.force === true,
      };
      const limits = runLimits(values);
      await checkOutputs(
        [outputs.out, ...(outputs.saveMask ? [outputs.saveMask] : [])],
        inputFiles(values),
        outputs.force,
      );
      const request = withCliOptions(await requestFromFlags(values), values, format);
      const bundle = str(values, 'bundle');
      const result = await editToFiles(request, outputs, {
        signal: context.signal,
        ...limits,
        ...(bundle === undefined ? {} : { bundleDir: bundle }),
      });
      if (values.json) process.stdout.write(`${JSON.stringify(result.metrics)}\n`);
      return EXIT.ok;
    } catch (error) {
      return reportFailure(error, failure);
    }
  },
};
