/** Binary masks and their connected regions. */

/** A row-major mask with one byte per pixel: 1 inside, 0 outside. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Point {
  x: number;
  y: number;
}

/** One connected region of a mask. */
export interface MaskRegion {
  area: number;
  /** Mean pixel position (not rounded). */
  centroid: Point;
}

/** A mask's regions and, per pixel, the index of its region (-1 outside). */
export interface RegionLabels {
  width: number;
  height: number;
  labels: Int32Array;
  regions: MaskRegion[];
}

/**
 * Splits a mask into its 8-connected regions, in scan order of their first pixel.
 * 8-connectivity matches OpenCV's outer contours, which the ReD Bench code uses to find an
 * operation's region: a diagonal-only touch still forms one contour.
 */
export function connectedRegions(mask: BinaryMask): RegionLabels {
  const { width, height, data } = mask;
  const labels = new Int32Array(width * height).fill(-1);
  const regions: MaskRegion[] = [];
  const pending: number[] = [];
  for (let seed = 0; seed < data.length; seed++) {
    if (data[seed] === 0 || (labels[seed] as number) >= 0) continue;
    const label = regions.length;
    let area = 0;
    let sumX = 0;
    let sumY = 0;
    labels[seed] = label;
    pending.push(seed);
    while (pending.length > 0) {
      const pixel = pending.pop() as number;
      const x = pixel % width;
      const y = (pixel - x) / width;
      area++;
      sumX += x;
      sumY += y;
      for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
          const neighbour = ny * width + nx;
          if (data[neighbour] !== 0 && labels[neighbour] === -1) {
            labels[neighbour] = label;
            pending.push(neighbour);
          }
        }
      }
    }
    regions.push({ area, centroid: { x: sumX / area, y: sumY / area } });
  }
  return { width, height, labels, regions };
}

/** The mask of one region from `connectedRegions`. */
export function regionMask({ width, height, labels }: RegionLabels, label: number): BinaryMask {
  const data = new Uint8Array(labels.length);
  for (let pixel = 0; pixel < labels.length; pixel++) data[pixel] = labels[pixel] === label ? 1 : 0;
  return { width, height, data };
}
