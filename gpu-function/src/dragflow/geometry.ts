/** Points in pixel coordinates: x to the right, y down, pixel (row i, column j) centred at (j, i). */
export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
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
