/**
 * DragBench sample folders (DragDiffusion): `original_image.png` and `meta_data.pkl`, a pickled
 * dict {prompt: str, points: [[x, y], ...] alternating handle and target, mask: uint8 H x W, 1 = editable}.
 * RegionDrag's DragBench-DR/SR add `meta_data_region.pkl` with the same keys and dense
 * region-to-region point pairs; pass its name as `metadataFile` to read it instead.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BinaryMask, Point } from '../image/binary-mask.ts';
import { SampleFormatError } from './errors.ts';
import { isNumpyArray, PICKLE_LIMITS, PickleTuple, type PickleValue, pickle, unpickle } from './pickle.ts';
import { type EncodedImage, readPngImage, readSampleFile, SAMPLE_FILE_LIMITS } from './sample-files.ts';

export const DRAGBENCH_FILES = {
  image: 'original_image.png',
  metadata: 'meta_data.pkl',
  regionMetadata: 'meta_data_region.pkl',
} as const;

export const DRAGBENCH_LIMITS = {
  /** Most points (handles plus targets); region files hold dense correspondences. */
  maxPoints: 100_000,
  /** Longest prompt, in characters. */
  maxPromptChars: 10_000,
} as const;

export interface Drag {
  handle: Point;
  target: Point;
}

export interface DragBenchSample {
  image: EncodedImage;
  prompt: string;
  drags: Drag[];
  /** 1 where the edit may change the image. Same size as the image. */
  editableMask: BinaryMask;
}

export interface DragBenchReadOptions {
  metadataFile?: typeof DRAGBENCH_FILES.metadata | typeof DRAGBENCH_FILES.regionMetadata;
}

const METADATA_KEYS = ['prompt', 'points', 'mask'];

export async function readDragBenchSample(
  dir: string,
  options: DragBenchReadOptions = {},
): Promise<DragBenchSample> {
  const metadataName = options.metadataFile ?? DRAGBENCH_FILES.metadata;
  const imageFile = join(dir, DRAGBENCH_FILES.image);
  const metadataFile = join(dir, metadataName);
  const image = await readPngImage(
    await readSampleFile(dir, DRAGBENCH_FILES.image, SAMPLE_FILE_LIMITS.maxPngBytes),
    imageFile,
  );
  const metadata = unpickle(await readSampleFile(dir, metadataName, PICKLE_LIMITS.maxBytes), {
    source: metadataFile,
  });

  const invalid = (path: string, reason: string) =>
    new SampleFormatError('sample_invalid', reason, { file: metadataFile, path });
  if (!(metadata instanceof Map)) throw invalid('(top level)', `is ${describe(metadata)}, expected a dict`);
  const keys = [...metadata.keys()];
  if (keys.length !== METADATA_KEYS.length || !METADATA_KEYS.every((key) => metadata.has(key))) {
    throw invalid(
      '(top level)',
      `has keys [${keys.join(', ')}], expected exactly [${METADATA_KEYS.join(', ')}]`,
    );
  }

  const prompt = metadata.get('prompt');
  if (typeof prompt !== 'string') throw invalid('prompt', `is ${describe(prompt)}, expected a str`);
  if (prompt.length > DRAGBENCH_LIMITS.maxPromptChars) {
    throw invalid(
      'prompt',
      `has ${prompt.length} characters, over the limit of ${DRAGBENCH_LIMITS.maxPromptChars}`,
    );
  }

  const points = metadata.get('points');
  if (!Array.isArray(points)) throw invalid('points', `is ${describe(points)}, expected a list`);
  if (points.length === 0 || points.length % 2 !== 0) {
    throw invalid(
      'points',
      `has ${points.length} points, expected a positive even count (handle, target, ...)`,
    );
  }
  if (points.length > DRAGBENCH_LIMITS.maxPoints) {
    throw invalid('points', `has ${points.length} points, over the limit of ${DRAGBENCH_LIMITS.maxPoints}`);
  }
  const parsed = points.map((point, i) => {
    const pair = point instanceof PickleTuple ? point.items : point;
    const [x, y] = Array.isArray(pair) ? pair : [];
    if (!Array.isArray(pair) || pair.length !== 2 || !Number.isInteger(x) || !Number.isInteger(y)) {
      throw invalid(`points[${i}]`, `is ${describe(point)}, expected [x, y] with integer x and y`);
    }
    const at = { x: x as number, y: y as number };
    if (at.x < 0 || at.y < 0 || at.x >= image.width || at.y >= image.height) {
      throw invalid(
        `points[${i}]`,
        `(${at.x}, ${at.y}) lies outside the ${image.width}x${image.height} image`,
      );
    }
    return at;
  });
  const drags: Drag[] = [];
  for (let i = 0; i < parsed.length; i += 2)
    drags.push({ handle: parsed[i] as Point, target: parsed[i + 1] as Point });

  const mask = metadata.get('mask');
  if (!isNumpyArray(mask)) {
    throw invalid('mask', `is ${describe(mask)}, expected a numpy array`);
  }
  const expectedShape = `(${image.height}, ${image.width})`;
  if (mask.dtype !== 'uint8') throw invalid('mask', `has dtype ${mask.dtype}, expected uint8`);
  if (mask.shape.length !== 2 || mask.shape[0] !== image.height || mask.shape[1] !== image.width) {
    throw invalid(
      'mask',
      `has shape (${mask.shape.join(', ')}), expected ${expectedShape} to match the image`,
    );
  }
  if (mask.fortranOrder) throw invalid('mask', 'is in Fortran (column-major) order, expected C order');
  const stray = mask.data.findIndex((value) => value > 1);
  if (stray >= 0) {
    const x = stray % image.width;
    const y = Math.floor(stray / image.width);
    throw invalid('mask', `holds ${mask.data[stray]} at (${x}, ${y}), expected only 0 and 1`);
  }
  return {
    image,
    prompt,
    drags,
    editableMask: { width: image.width, height: image.height, data: mask.data },
  };
}

/** Writes `original_image.png` (the image's own bytes) and the metadata pickle as DragBench does. */
export async function writeDragBenchSample(
  dir: string,
  sample: DragBenchSample,
  options: DragBenchReadOptions = {},
): Promise<void> {
  const { editableMask } = sample;
  const metadata = new Map<string, PickleValue>([
    ['prompt', sample.prompt],
    [
      'points',
      sample.drags.flatMap(({ handle, target }) => [
        [handle.x, handle.y],
        [target.x, target.y],
      ]),
    ],
    [
      'mask',
      {
        kind: 'ndarray',
        dtype: 'uint8',
        shape: [editableMask.height, editableMask.width],
        fortranOrder: false,
        data: editableMask.data,
      },
    ],
  ]);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, DRAGBENCH_FILES.image), sample.image.bytes);
  await writeFile(join(dir, options.metadataFile ?? DRAGBENCH_FILES.metadata), pickle(metadata));
}

/** A short description of a pickled value for error messages. */
function describe(value: PickleValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'None';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value instanceof PickleTuple) return `a tuple of ${value.items.length}`;
  if (value instanceof Map) return 'a dict';
  if (value instanceof Uint8Array) return 'bytes';
  if (isNumpyArray(value)) return `a ${value.dtype} array`;
  return `${typeof value === 'string' ? 'the str' : `the ${typeof value}`} ${JSON.stringify(value).slice(0, 40)}`;
}
