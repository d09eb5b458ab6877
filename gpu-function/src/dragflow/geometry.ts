/**
 * Coordinate frames. Inside the pipeline a point is in PIXEL-CENTRE coordinates: pixel (row i,
 * column j) is centred at (x = j, y = i), as in OpenCV moments, ReD Bench centroids and
 * grid_sample's pixel space; an image of width W spans x in [-0.5, W - 0.5]. The public request
 * uses CONTINUOUS coordinates (the image covers [0, W] x [0, H]); pointFromRequest converts.
 */
import type { Point } from '../image/binary-mask.ts';

export interface Size {
  width: number;
  height: number;
}

/** A request point [x, y] (continuous frame) in pixel-centre coordinates. */
export function pointFromRequest([x, y]: readonly [number, number]): Point {
  return { x: x - 0.5, y: y - 0.5 };
}

/** Whether a pixel-centre point lies on the image (its extent, edges included). */
export function isOnImage(point: Point, size: Size): boolean {
  return point.x >= -0.5 && point.y >= -0.5 && point.x <= size.width - 0.5 && point.y <= size.height - 0.5;
}

/**
 * Maps a point between two resolutions of the same picture, keeping pixel centres aligned with
 * the half-pixel convention of resample.ts: x' = (x + 0.5) * W' / W - 0.5.
 */
export function rescalePoint(point: Point, from: Size, to: Size): Point {
  return {
    x: (point.x + 0.5) * (to.width / from.width) - 0.5,
    y: (point.y + 0.5) * (to.height / from.height) - 0.5,
  };
}
