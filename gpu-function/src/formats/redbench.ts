/**
 * ReD Bench sample folders (DragFlow): `original_image.png`, `operation.png` (a black-and-white
 * mask of one or more separate regions) and `instruction.json`:
 *   {"region_operations": {"0": {"task", "centroids": [[bx, by], [tx, ty]], "anchors": [ax, ay] | null}, ...},
 *    "point_operations": {"begin_points": [[x, y], ...], "target_points": [[x, y], ...]},
 *    "background_prompt": str, "editing_prompt": str}
 * An operation's source region is the 8-connected region of operation.png holding its begin centroid.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BinaryMask,
  connectedRegions,
  type Point,
  type RegionLabels,
  regionMask,
} from '../image/binary-mask.ts';
import { SampleFormatError } from './errors.ts';
import {
  type EncodedImage,
  encodePngMask,
  readPngImage,
  readPngMask,
  readSampleFile,
  SAMPLE_FILE_LIMITS,
} from './sample-files.ts';

export const REDBENCH_FILES = {
  image: 'original_image.png',
  operationMask: 'operation.png',
  instruction: 'instruction.json',
} as const;

export const REDBENCH_LIMITS = {
  /** Most region operations in one sample. */
  maxRegionOperations: 32,
  /** Most point operations in one sample. */
  maxPointOperations: 1000,
  /** Longest prompt, in characters. */
  maxPromptChars: 10_000,
  /**
   * When a begin centroid falls on a background pixel (a concave or ring-shaped region), the region
   * whose own centroid is nearest is taken if it lies within this many pixels; otherwise the sample
   * is rejected. The reference centroids are rounded region centroids, so they are within 0.71 px.
   */
  centroidTolerancePx: 2,
} as const;

/** The operation types of the method; the file's names are in REDBENCH_TASKS. */
export type RegionTask = 'relocate' | 'deform' | 'rotate';

/** instruction.json task names ("transformation" is the reference code's name for relocation). */
export const REDBENCH_TASKS: Record<string, RegionTask> = {
  transformation: 'relocate',
  deformation: 'deform',
  rotation: 'rotate',
};

export interface RegionOperation {
  task: RegionTask;
  /** Centroid of the source region, as stored (rounded). */
  begin: Point;
  /** Where the region's centroid should move to. */
  target: Point;
  /** Rotation pivot: required for rotate, null or carried as stored for the others. */
  anchor: Point | null;
  /** The region of operation.png holding `begin`. */
  sourceMask: BinaryMask;
}

export interface PointOperation {
  begin: Point;
  target: Point;
}

export interface RedBenchSample {
  image: EncodedImage;
  /** All regions of operation.png, 1 inside. */
  operationMask: BinaryMask;
  operations: RegionOperation[];
  /** Point drags kept for point-based baselines. */
  pointOperations: PointOperation[];
  backgroundPrompt: string;
  editingPrompt: string;
}

/** What a writer needs: source masks are derived from operation.png when reading. */
export type RedBenchSampleDraft = Omit<RedBenchSample, 'operations'> & {
  operations: Omit<RegionOperation, 'sourceMask'>[];
};

const TOP_KEYS = ['region_operations', 'point_operations', 'background_prompt', 'editing_prompt'];
const OPERATION_KEYS = ['task', 'centroids', 'anchors'];
const POINT_KEYS = ['begin_points', 'target_points'];

export async function readRedBenchSample(dir: string): Promise<RedBenchSample> {
  const imageFile = join(dir, REDBENCH_FILES.image);
  const maskFile = join(dir, REDBENCH_FILES.operationMask);
  const image = await readPngImage(
    await readSampleFile(dir, REDBENCH_FILES.image, SAMPLE_FILE_LIMITS.maxPngBytes),
    imageFile,
  );
  const operationMask = await readPngMask(
    await readSampleFile(dir, REDBENCH_FILES.operationMask, SAMPLE_FILE_LIMITS.maxPngBytes),
    maskFile,
  );
  if (operationMask.width !== image.width || operationMask.height !== image.height) {
    throw new SampleFormatError(
      'sample_invalid',
      `mask is ${operationMask.width}x${operationMask.height}, the image is ${image.width}x${image.height}`,
      { file: maskFile },
    );
  }
  const instruction = new InstructionReader(
    join(dir, REDBENCH_FILES.instruction),
    await readSampleFile(dir, REDBENCH_FILES.instruction, SAMPLE_FILE_LIMITS.maxJsonBytes),
    image,
  );
  const regions = connectedRegions(operationMask);
  const operations = instruction.regionOperations().map((operation, i) => ({
    ...operation,
    sourceMask: regionMask(regions, instruction.sourceRegion(regions, operation.begin, i)),
  }));
  return {
    image,
    operationMask,
    operations,
    pointOperations: instruction.pointOperations(),
    backgroundPrompt: instruction.prompt('background_prompt'),
    editingPrompt: instruction.prompt('editing_prompt'),
  };
}

/** Writes the three files as ReD Bench stores them (instruction.json indented by 4 spaces). */
export async function writeRedBenchSample(dir: string, sample: RedBenchSampleDraft): Promise<void> {
  const taskNames = Object.fromEntries(Object.entries(REDBENCH_TASKS).map(([name, task]) => [task, name]));
  const pair = ({ x, y }: Point) => [x, y];
  const instruction = {
    region_operations: Object.fromEntries(
      sample.operations.map((operation, i) => [
        String(i),
        {
          task: taskNames[operation.task],
          centroids: [pair(operation.begin), pair(operation.target)],
          anchors: operation.anchor === null ? null : pair(operation.anchor),
        },
      ]),
    ),
    point_operations: {
      begin_points: sample.pointOperations.map(({ begin }) => pair(begin)),
      target_points: sample.pointOperations.map(({ target }) => pair(target)),
    },
    background_prompt: sample.backgroundPrompt,
    editing_prompt: sample.editingPrompt,
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, REDBENCH_FILES.image), sample.image.bytes);
  await writeFile(join(dir, REDBENCH_FILES.operationMask), await encodePngMask(sample.operationMask));
  await writeFile(join(dir, REDBENCH_FILES.instruction), JSON.stringify(instruction, null, 4));
}

/** Validates instruction.json field by field, naming the JSON path of the first problem. */
class InstructionReader {
  private readonly root: Record<string, unknown>;

  constructor(
    private readonly file: string,
    bytes: Uint8Array,
    private readonly image: EncodedImage,
  ) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (cause) {
      throw new SampleFormatError('sample_invalid', `is not valid JSON (${(cause as Error).message})`, {
        file,
      });
    }
    this.root = this.object(parsed, '$', TOP_KEYS);
  }

  regionOperations(): Omit<RegionOperation, 'sourceMask'>[] {
    const operations = this.object(this.root.region_operations, '$.region_operations');
    const keys = Object.keys(operations);
    if (keys.length === 0 || keys.length > REDBENCH_LIMITS.maxRegionOperations) {
      throw this.invalid(
        '$.region_operations',
        `has ${keys.length} operations, expected 1 to ${REDBENCH_LIMITS.maxRegionOperations}`,
      );
    }
    return keys.map((key, i) => {
      const path = `$.region_operations["${key}"]`;
      if (key !== String(i))
        throw this.invalid(path, `key "${key}" is out of sequence, expected "${i}" (keys count up from "0")`);
      const operation = this.object(operations[key], path, OPERATION_KEYS);
      const taskName = operation.task;
      const task =
        typeof taskName === 'string' && Object.hasOwn(REDBENCH_TASKS, taskName)
          ? REDBENCH_TASKS[taskName]
          : undefined;
      if (task === undefined) {
        throw this.invalid(
          `${path}.task`,
          `is ${JSON.stringify(taskName)}, expected one of ${Object.keys(REDBENCH_TASKS).join(', ')}`,
        );
      }
      const centroids = this.array(operation.centroids, `${path}.centroids`);
      if (centroids.length !== 2)
        throw this.invalid(`${path}.centroids`, `has ${centroids.length} points, expected [begin, target]`);
      const anchor = operation.anchors === null ? null : this.point(operation.anchors, `${path}.anchors`);
      if (task === 'rotate' && anchor === null)
        throw this.invalid(`${path}.anchors`, 'is null, but a rotation needs an anchor (its pivot)');
      return {
        task,
        begin: this.point(centroids[0], `${path}.centroids[0]`),
        target: this.point(centroids[1], `${path}.centroids[1]`),
        anchor,
      };
    });
  }

  pointOperations(): PointOperation[] {
    const path = '$.point_operations';
    const points = this.object(this.root.point_operations, path, POINT_KEYS);
    const begins = this.array(points.begin_points, `${path}.begin_points`);
    const targets = this.array(points.target_points, `${path}.target_points`);
    if (begins.length !== targets.length) {
      throw this.invalid(
        path,
        `has ${begins.length} begin points and ${targets.length} target points, expected as many of each`,
      );
    }
    if (begins.length > REDBENCH_LIMITS.maxPointOperations) {
      throw this.invalid(
        path,
        `has ${begins.length} point pairs, over the limit of ${REDBENCH_LIMITS.maxPointOperations}`,
      );
    }
    return begins.map((begin, i) => ({
      begin: this.point(begin, `${path}.begin_points[${i}]`),
      target: this.point(targets[i], `${path}.target_points[${i}]`),
    }));
  }

  prompt(key: 'background_prompt' | 'editing_prompt'): string {
    const value = this.root[key];
    if (typeof value !== 'string') throw this.invalid(`$.${key}`, `is ${describe(value)}, expected a string`);
    if (value.length > REDBENCH_LIMITS.maxPromptChars) {
      throw this.invalid(
        `$.${key}`,
        `has ${value.length} characters, over the limit of ${REDBENCH_LIMITS.maxPromptChars}`,
      );
    }
    return value;
  }

  /** The label of the region holding `begin`, or of the region whose centroid is within tolerance. */
  sourceRegion(regions: RegionLabels, begin: Point, index: number): number {
    const label = regions.labels[begin.y * regions.width + begin.x] as number;
    if (label >= 0) return label;
    let nearest = -1;
    let nearestDistance = Number.POSITIVE_INFINITY;
    regions.regions.forEach(({ centroid }, candidate) => {
      const distance = Math.hypot(centroid.x - begin.x, centroid.y - begin.y);
      if (distance < nearestDistance) {
        nearest = candidate;
        nearestDistance = distance;
      }
    });
    if (nearestDistance > REDBENCH_LIMITS.centroidTolerancePx) {
      const found =
        nearest < 0
          ? 'operation.png has no regions'
          : `the nearest region centroid is ${nearestDistance.toFixed(1)} px away`;
      throw this.invalid(
        `$.region_operations["${index}"].centroids[0]`,
        `begin centroid (${begin.x}, ${begin.y}) is not inside any region of operation.png and ${found} (tolerance ${REDBENCH_LIMITS.centroidTolerancePx} px)`,
      );
    }
    return nearest;
  }

  private object(value: unknown, path: string, requiredKeys?: string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.invalid(path, `is ${describe(value)}, expected an object`);
    }
    const record = value as Record<string, unknown>;
    if (requiredKeys !== undefined) {
      const missing = requiredKeys.filter((key) => !Object.hasOwn(record, key));
      const unknown = Object.keys(record).filter((key) => !requiredKeys.includes(key));
      if (missing.length > 0)
        throw this.invalid(path, `lacks ${missing.map((key) => `"${key}"`).join(', ')}`);
      if (unknown.length > 0)
        throw this.invalid(path, `has unknown keys ${unknown.map((key) => `"${key}"`).join(', ')}`);
    }
    return record;
  }

  private array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) throw this.invalid(path, `is ${describe(value)}, expected an array`);
    return value;
  }

  /** An [x, y] pair of integers inside the image. */
  private point(value: unknown, path: string): Point {
    const pair = this.array(value, path);
    const [x, y] = pair;
    if (pair.length !== 2 || !Number.isInteger(x) || !Number.isInteger(y)) {
      throw this.invalid(path, `is ${describe(value)}, expected [x, y] with integer x and y`);
    }
    const point = { x: x as number, y: y as number };
    const { width, height } = this.image;
    if (point.x < 0 || point.y < 0 || point.x >= width || point.y >= height) {
      throw this.invalid(path, `(${point.x}, ${point.y}) lies outside the ${width}x${height} image`);
    }
    return point;
  }

  private invalid(path: string, reason: string): SampleFormatError {
    return new SampleFormatError('sample_invalid', reason, { file: this.file, path });
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
