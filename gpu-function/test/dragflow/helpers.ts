import { createMask } from '../../src/dragflow/region.ts';
import type { BinaryMask } from '../../src/image/binary-mask.ts';

/** A mask with the axis-aligned block of pixels x0..x1, y0..y1 (inclusive) set. */
export function blockMask(
  width: number,
  height: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): BinaryMask {
  const mask = createMask(width, height);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) mask.data[y * width + x] = 1;
  return mask;
}

/** The set pixels as "x,y" strings, for exact comparisons. */
export function pixelsOf(mask: BinaryMask): string[] {
  const out: string[] = [];
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) out.push(`${i % mask.width},${Math.floor(i / mask.width)}`);
  }
  return out;
}
