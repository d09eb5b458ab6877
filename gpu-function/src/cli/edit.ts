/**
 * `dragflow edit`: one DragFlow edit from files, with the same contract, errors and pipeline as the
 * service. Bad input prints `error <code>: <message>` on stderr and exits 2; an internal failure
 * exits 1 the same way; neither prints a stack trace.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { parseArgs } from 'node:util';
import type { EditRequest, RegionOperation } from '@dragflow/shared/edit-request';
import { MEDIA_TYPES, sniffImageFormat } from '@dragflow/shared/image-info';
import type { ImageRef } from '@dragflow/shared/image-ref';
import { BundleError } from '../bundle/errors.ts';
import { maskCentroid } from '../dragflow/region.ts';
import { readDragBenchSample } from '../formats/dragbench.ts';
import { dragBenchToEditRequest, redBenchToEditRequest } from '../formats/edit-request.ts';
import { SampleFormatError } from '../formats/errors.ts';
import { readRedBenchSample } from '../formats/redbench.ts';
import { encodePngMask } from '../formats/sample-files.ts';
import { decodeImage } from '../image/decode.ts';
import { InputError } from '../image/input-error.ts';
import { decodeMask } from '../image/mask.ts';
import { DEVICES, type Device, DeviceError } from '../pipeline/device.ts';
import { type ProgressEvent, runEdit } from '../pipeline/edit.ts';
import { EditCanceled, EditRejected, rejection } from '../pipeline/errors.ts';
import type { Command } from './main.ts';

const USAGE = [
  'usage:',
  '  dragflow edit --image <file> --mask <png> --op relocate|deform|rotate|scale --to <x,y>',
  '                [--anchor <x,y>] [--scale <f>] [--prompt <text>] [--bundle <dir>] [--seed <n>]',
  '                [--save-mask <png>] [--json] [--device cpu|cuda] --out <png>',
  '  dragflow edit --redbench <sample dir> --out <png> [...]',
  '  dragflow edit --dragbench <sample dir> --out <png> [...]',
  '',
  'Points are pixels, x right, y down, origin at the top-left corner of the image.',
  '--to: where the region centroid goes (relocate, deform, rotate); for scale, the handle whose',
  '      distance to --anchor sets the factor; or give --scale <f> instead of --to.',
  '--prompt: the background prompt (describes the scene). The demo bundle has no text encoder:',
  '      prompts are recorded, not encoded.',
  'Without --bundle the embedded demo bundle is used (generated on first use).',
  '--save-mask: writes the editable mask B (the area the edit may change) at image size.',
  '--json: prints the edit metrics as one JSON object on stdout.',
  '--device: where the model runs (default cpu; cuda: bfloat16 on the first GPU, needs onnxruntime-node',
  '      installed with its CUDA provider; a missing library is named, exit 2).',
].join('\n');

const OPS = ['relocate', 'deform', 'rotate', 'scale'] as const;
const FORMATS: Record<string, 'png' | 'jpeg' | 'webp'> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
};

/** A failure the user can fix: printed as `error <code>: <message>`, exit 2. */
class UsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function dataRef(bytes: Uint8Array, mediaType: string): ImageRef {
  return { data: `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}` };
}

/** A file's bytes as an inline image reference with the media type its signature says. */
async function readImageFile(path: string, flag: string): Promise<{ bytes: Uint8Array; ref: ImageRef }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'cannot be read';
    throw new UsageError('image_unreadable', `${flag} ${path}: ${reason}`);
  }
  const format = sniffImageFormat(bytes);
  if (!format) throw new UsageError('image_unreadable', `${flag} ${path}: not a PNG, JPEG or WebP image`);
  return { bytes, ref: dataRef(bytes, MEDIA_TYPES[format]) };
}

function parsePoint(value: string | undefined, flag: string): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || numbers.some((n) => !Number.isFinite(n))) {
    throw new UsageError('invalid_value', `${flag} must be two numbers "x,y", got "${value}"`);
  }
  return [numbers[0]!, numbers[1]!];
}

type Values = Record<string, string | boolean | undefined>;

/** The anchor + factor of `--scale f` as the contract's target: anchor + f (centroid - anchor). */
async function scaleTarget(image: Uint8Array, mask: Uint8Array, anchor: [number, number], factor: number) {
  const size = await decodeImage(image);
  const centroid = maskCentroid(await decodeMask(mask, size, ['operations', 0, 'source', 'mask']));
  if (!centroid)
    throw rejection(
      'empty_region',
      ['operations', 0, 'source', 'mask'],
      'selects no pixels; the region to move is empty',
    );
  // Pixel-centre centroid to the request's continuous coordinates.
  const [bx, by] = [centroid.x + 0.5, centroid.y + 0.5];
  return [anchor[0] + factor * (bx - anchor[0]), anchor[1] + factor * (by - anchor[1])] as [number, number];
}

async function requestFromFlags(values: Values): Promise<EditRequest> {
  const str = (name: string) => values[name] as string | undefined;
  if (str('redbench') !== undefined) return redBenchToEditRequest(await readRedBenchSample(str('redbench')!));
  if (str('dragbench') !== undefined)
    return dragBenchToEditRequest(await readDragBenchSample(str('dragbench')!));
  for (const flag of ['image', 'mask', 'op']) {
    if (str(flag) === undefined)
      throw new UsageError('required', `--${flag} is required (or give --redbench / --dragbench)`);
  }
  const kind = OPS.find((op) => op === str('op'));
  if (!kind)
    throw new UsageError('invalid_value', `--op must be one of ${OPS.join(', ')}, got "${str('op')}"`);
  const image = await readImageFile(str('image')!, '--image');
  const mask = await readImageFile(str('mask')!, '--mask');
  const anchor = parsePoint(str('anchor'), '--anchor');
  let target = parsePoint(str('to'), '--to');
  const scale = str('scale');
  if (scale !== undefined) {
    const factor = Number(scale);
    if (kind !== 'scale')
      throw new UsageError('field_not_allowed', `--scale is used with --op scale only, not ${kind}`);
    if (target) throw new UsageError('conflicting_fields', '--scale and --to cannot be given together');
    if (!(factor > 0) || !Number.isFinite(factor))
      throw new UsageError('invalid_value', `--scale must be a positive number, got "${scale}"`);
    if (!anchor)
      throw rejection(
        'anchor_required',
        ['operations', 0, 'anchor'],
        'is required for a scale operation (the pivot point)',
      );
    target = await scaleTarget(image.bytes, mask.bytes, anchor, factor);
  }
  if (!target) throw new UsageError('required', '--to is required (or --scale with --op scale)');
  const operation: RegionOperation = { kind, source: { mask: mask.ref }, target };
  if (anchor) operation.anchor = anchor;
  const request: EditRequest = { image: image.ref, operations: [operation] };
  if (str('prompt') !== undefined) request.prompts = { background: str('prompt')! };
  return request;
}

/** Overrides from flags: the seed, the output format from --out's extension, and compositing on. */
function withCliOptions(request: EditRequest, values: Values): EditRequest {
  const options = { background_compositing: true, ...request.options };
  const seed = values.seed as string | undefined;
  if (seed !== undefined) {
    if (!/^\d+$/.test(seed))
      throw new UsageError('invalid_value', `--seed must be a non-negative integer, got "${seed}"`);
    options.seed = Number(seed);
  }
  const format = FORMATS[extname(values.out as string).toLowerCase()];
  if (!format)
    throw new UsageError(
      'invalid_value',
      `--out must end in .png, .jpg, .jpeg or .webp, got "${values.out}"`,
    );
  options.output_format = format;
  return { ...request, options };
}

/** A one-line progress bar on a terminal: phase, step/total, loss. */
function progressBar(stream: NodeJS.WriteStream): (event: ProgressEvent) => void {
  return (event) => {
    const width = 24;
    const filled = event.total === 0 ? width : Math.round((event.step / event.total) * width);
    const loss = event.loss === null ? '' : `  loss ${event.loss.toExponential(3)}`;
    const line = `${event.phase.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${event.step}/${event.total}${loss}`;
    stream.write(`\r${line.padEnd(72)}`);
  };
}

export interface EditFiles {
  out: string;
  saveMask?: string;
  bundle?: string;
  json?: boolean;
  device?: Device;
}

/** Runs `request` and writes the image (and B); returns the exit code. Shared by `edit` and `demo`. */
export async function editToFiles(request: EditRequest, files: EditFiles): Promise<number> {
  const onProgress = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
  const result = await runEdit(request, {
    ...(files.bundle ? { bundleDir: files.bundle } : {}),
    ...(files.device ? { device: files.device } : {}),
    ...(onProgress ? { onProgress } : {}),
  }).finally(() => {
    // Ends the progress bar's line, also before an error message.
    if (onProgress) process.stderr.write('\n');
  });
  await mkdir(dirname(files.out), { recursive: true });
  await writeFile(files.out, result.encoded);
  if (files.saveMask) {
    await mkdir(dirname(files.saveMask), { recursive: true });
    await writeFile(files.saveMask, await encodePngMask(result.editableMask));
  }
  const m = result.metrics;
  process.stderr.write(
    `${files.out}: ${result.width}x${result.height} ${result.format}, ${m.transformer_calls} transformer calls, ` +
      `${m.total_seconds.toFixed(1)} s (model ${m.model})\n`,
  );
  if (files.json) process.stdout.write(`${JSON.stringify(m)}\n`);
  return 0;
}

/** `error <code>: <message>`; 2 for input the user can fix, 1 for internal failures. */
export function reportFailure(error: unknown): number {
  const known =
    error instanceof EditRejected ||
    error instanceof UsageError ||
    error instanceof SampleFormatError ||
    error instanceof BundleError ||
    error instanceof DeviceError;
  if (known || error instanceof InputError) {
    const code = (error as { code: string }).code;
    // SampleFormatError's message already starts with its code.
    const message = error.message.startsWith(`${code}: `)
      ? error.message.slice(code.length + 2)
      : error.message;
    process.stderr.write(`error ${code}: ${message}\n`);
    return 2;
  }
  if (error instanceof EditCanceled) {
    process.stderr.write(`error canceled: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`error internal: ${(error as Error).message ?? String(error)}\n`);
  return 1;
}

export const edit: Command = {
  summary: 'run one drag edit (region operation, ReD Bench or DragBench sample) on a bundle',
  async run(args) {
    try {
      const { values } = parseArgs({
        args,
        options: {
          image: { type: 'string' },
          mask: { type: 'string' },
          op: { type: 'string' },
          to: { type: 'string' },
          anchor: { type: 'string' },
          scale: { type: 'string' },
          prompt: { type: 'string' },
          bundle: { type: 'string' },
          seed: { type: 'string' },
          'save-mask': { type: 'string' },
          json: { type: 'boolean', default: false },
          out: { type: 'string' },
          redbench: { type: 'string' },
          dragbench: { type: 'string' },
          device: { type: 'string', default: 'cpu' },
          help: { type: 'boolean', default: false },
        },
      });
      if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      if (values.out === undefined) throw new UsageError('required', '--out <png> is required');
      if (values.redbench !== undefined && values.dragbench !== undefined) {
        throw new UsageError('conflicting_fields', '--redbench and --dragbench cannot be given together');
      }
      if (!(DEVICES as readonly string[]).includes(values.device)) {
        throw new UsageError(
          'invalid_value',
          `--device must be one of ${DEVICES.join(', ')}, got '${values.device}'`,
        );
      }
      const request = withCliOptions(await requestFromFlags(values), values);
      return await editToFiles(request, {
        out: values.out,
        json: values.json,
        device: values.device as Device,
        ...(values['save-mask'] ? { saveMask: values['save-mask'] } : {}),
        ...(values.bundle ? { bundle: values.bundle } : {}),
      });
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
        process.stderr.write(`error invalid_value: ${(error as Error).message}\n${USAGE}\n`);
        return 2;
      }
      return reportFailure(error);
    }
  },
};
