/**
 * Synthetic scenes for the end-to-end tests: flat-coloured shapes on a flat background, encoded as
 * the contract's inline PNGs, and the measurements the acceptance criteria name.
 *
 * Shapes are placed so that their centroids fall on centres of the demo bundle's 8-px feature
 * cells; then a move by whole cells is an exact warp of the start features.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EditRequest, RegionOperation } from '@dragflow/shared/edit-request';
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';

export type Rgb = readonly [number, number, number];
export const BACKGROUND: Rgb = [90, 110, 90];

export interface Scene {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export function blankScene(width: number, height: number, colour: Rgb = BACKGROUND): Scene {
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) rgb.set(colour, p * 3);
  return { width, height, rgb };
}

/** Pixel-centre coordinates (x, y) -> inside? */
export type Shape = (x: number, y: number) => boolean;

export function disk(cx: number, cy: number, radius: number): Shape {
  return (x, y) => Math.hypot(x - cx, y - cy) <= radius;
}

/** A bar centred at (cx, cy), `length` along the direction at `degrees` (y down), `thickness` across. */
export function bar(cx: number, cy: number, length: number, thickness: number, degrees: number): Shape {
  const c = Math.cos((degrees * Math.PI) / 180);
  const s = Math.sin((degrees * Math.PI) / 180);
  return (x, y) => {
    const along = (x - cx) * c + (y - cy) * s;
    const across = -(x - cx) * s + (y - cy) * c;
    return Math.abs(along) <= length / 2 && Math.abs(across) <= thickness / 2;
  };
}

export function paint(scene: Scene, shape: Shape, colour: Rgb): void {
  for (let y = 0; y < scene.height; y++) {
    for (let x = 0; x < scene.width; x++) if (shape(x, y)) scene.rgb.set(colour, (y * scene.width + x) * 3);
  }
}

export function shapeMask(width: number, height: number, shape: Shape): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = shape(x, y) ? 1 : 0;
  return mask;
}

export async function pngOf(
  rgb: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 = 3,
): Promise<Uint8Array> {
  return new Uint8Array(await sharp(rgb, { raw: { width, height, channels } }).png().toBuffer());
}

export async function maskPng(mask: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  return pngOf(
    mask.map((v) => (v ? 255 : 0)),
    width,
    height,
    1,
  );
}

export function dataUri(png: Uint8Array): { data: string } {
  return { data: `data:image/png;base64,${Buffer.from(png).toString('base64')}` };
}

export async function requestFor(
  scene: Scene,
  operations: {
    kind: RegionOperation['kind'];
    shape: Shape;
    target: [number, number];
    anchor?: [number, number];
  }[],
  options: EditRequest['options'] = {},
): Promise<EditRequest> {
  const ops: RegionOperation[] = [];
  for (const op of operations) {
    const mask = await maskPng(shapeMask(scene.width, scene.height, op.shape), scene.width, scene.height);
    ops.push({
      kind: op.kind,
      source: { mask: dataUri(mask) },
      target: op.target,
      ...(op.anchor ? { anchor: op.anchor } : {}),
    });
  }
  return {
    image: dataUri(await pngOf(scene.rgb, scene.width, scene.height)),
    operations: ops,
    options: { background_compositing: true, ...options },
  };
}

/** Nearer to `colour` than to the background. */
export function hasColour(
  rgb: Uint8Array,
  pixel: number,
  colour: Rgb,
  background: Rgb = BACKGROUND,
): boolean {
  const at = (c: number) => rgb[pixel * 3 + c]!;
  const dObject = Math.hypot(at(0) - colour[0], at(1) - colour[1], at(2) - colour[2]);
  const dBackground = Math.hypot(at(0) - background[0], at(1) - background[1], at(2) - background[2]);
  return dObject < dBackground;
}

export interface RegionColourStats {
  /** Pixels of the region. */
  area: number;
  /** Share of them that have the colour. */
  share: number;
  /** Centroid of those pixels, in the request's continuous coordinates (pixel centre + 0.5). */
  centroid: [number, number];
}

export function colourIn(scene: Scene, region: Shape, colour: Rgb): RegionColourStats {
  let area = 0;
  let count = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < scene.height; y++) {
    for (let x = 0; x < scene.width; x++) {
      if (!region(x, y)) continue;
      area++;
      if (hasColour(scene.rgb, y * scene.width + x, colour)) {
        count++;
        sx += x;
        sy += y;
      }
    }
  }
  return { area, share: count / area, centroid: [sx / count + 0.5, sy / count + 0.5] };
}

/** Orientation (degrees, y down, in (-90, 90]) of the principal axis of the pixels with `colour` in `region`. */
export function orientation(scene: Scene, region: Shape, colour: Rgb): number {
  const points: [number, number][] = [];
  for (let y = 0; y < scene.height; y++) {
    for (let x = 0; x < scene.width; x++) {
      if (region(x, y) && hasColour(scene.rgb, y * scene.width + x, colour)) points.push([x, y]);
    }
  }
  const mx = points.reduce((s, p) => s + p[0], 0) / points.length;
  const my = points.reduce((s, p) => s + p[1], 0) / points.length;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (const [x, y] of points) {
    xx += (x - mx) ** 2;
    yy += (y - my) ** 2;
    xy += (x - mx) * (y - my);
  }
  return (0.5 * Math.atan2(2 * xy, xx - yy) * 180) / Math.PI;
}

/** The CLI tests' scene: a 64x64 red disk (centre 27.5, 27.5, radius 10) and its mask, written as image.png and mask.png. */
export const CLI_DISK = disk(27.5, 27.5, 10);

export async function writeDiskScene(
  file: (name: string) => string,
): Promise<{ image: Uint8Array; mask: Uint8Array }> {
  const scene = blankScene(64, 64);
  paint(scene, CLI_DISK, [220, 40, 40]);
  const image = await pngOf(scene.rgb, 64, 64);
  const mask = shapeMask(64, 64, CLI_DISK);
  await writeFile(file('image.png'), image);
  await writeFile(file('mask.png'), await maskPng(mask, 64, 64));
  return { image, mask };
}

/** Prints a test's measured figures on one line, so a run shows the numbers its assertions bound. */
export function reportFigures(label: string, figures: Record<string, number>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`);
  console.info(`figures ${label}: ${parts.join(' ')}`);
}

/**
 * Points DRAGFLOW_CACHE at a fresh folder for the calling test file (the demo bundle and runtime
 * graphs are built there), and restores it and removes the folder afterwards.
 */
export function useTemporaryCache(prefix: string): void {
  const previous = process.env.DRAGFLOW_CACHE;
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), prefix));
    process.env.DRAGFLOW_CACHE = cache;
  });
  afterAll(async () => {
    if (previous === undefined) delete process.env.DRAGFLOW_CACHE;
    else process.env.DRAGFLOW_CACHE = previous;
    await rm(cache, { recursive: true, force: true });
  });
}
