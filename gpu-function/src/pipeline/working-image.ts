/**
 * Between the full-resolution photo and the model's working image (the plan's crop resized to the
 * working size, pipeline/work-plan.ts): the image, masks and points go in; the edited image comes
 * back at the crop's size, to be blended into the full original (dragflow/composite.ts).
 *
 * Resizing: images with Lanczos-3 (sharp), masks by their area coverage (sharp's linear kernel,
 * which averages the covered source pixels when shrinking) kept above one half, so a thin region is
 * not lost between samples. A crop already of the working size is copied, not resampled. Points
 * keep the half-pixel convention of geometry.ts (pixel centres map to pixel centres).
 */
import sharp from 'sharp';
import type { Size } from '../dragflow/geometry.ts';
import { rescalePoint } from '../dragflow/geometry.ts';
import type { RegionOperation } from '../dragflow/operation.ts';
import { createMask } from '../dragflow/region.ts';
import type { BinaryMask, Point } from '../image/binary-mask.ts';
import type { Rect, WorkPlan } from './work-plan.ts';

async function resizeRaw(
  data: Uint8Array,
  from: Size,
  channels: 1 | 3,
  region: Rect,
  to: Size,
  kernel: 'lanczos3' | 'linear',
): Promise<Uint8Array> {
  let image = sharp(data, { raw: { ...from, channels } });
  if (region.x !== 0 || region.y !== 0 || region.width !== from.width || region.height !== from.height) {
    image = image.extract({ left: region.x, top: region.y, width: region.width, height: region.height });
  }
  if (region.width !== to.width || region.height !== to.height) {
    image = image.resize(to.width, to.height, { fit: 'fill', kernel });
  }
  // sharp writes raw output as sRGB unless told that one channel is grey.
  if (channels === 1) image = image.toColourspace('b-w');
  const { data: out, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels || info.width !== to.width || info.height !== to.height) {
    throw new Error(
      `resize returned ${info.width}x${info.height}x${info.channels}, expected ${to.width}x${to.height}x${channels}`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The working image: interleaved 8-bit RGB of the crop at the working size. */
export function workingRgb(
  rgb: Uint8Array,
  image: Size,
  plan: Pick<WorkPlan, 'crop' | 'working'>,
): Promise<Uint8Array> {
  return resizeRaw(rgb, image, 3, plan.crop, plan.working, 'lanczos3');
}

/** A full-size mask on the working image: crop, then area coverage above one half. */
export async function workingMask(
  mask: BinaryMask,
  plan: Pick<WorkPlan, 'crop' | 'working'>,
): Promise<BinaryMask> {
  const levels = mask.data.map((v) => (v ? 255 : 0));
  const resized = await resizeRaw(levels, mask, 1, plan.crop, plan.working, 'linear');
  const out = createMask(plan.working.width, plan.working.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = resized[i]! > 127 ? 1 : 0;
  return out;
}

/** A full-image pixel-centre point in working-image pixel-centre coordinates. */
export function workingPoint(point: Point, plan: Pick<WorkPlan, 'crop' | 'working'>): Point {
  const { crop, working } = plan;
  return rescalePoint({ x: point.x - crop.x, y: point.y - crop.y }, crop, working);
}

export async function workingOperation(
  op: RegionOperation,
  plan: Pick<WorkPlan, 'crop' | 'working'>,
): Promise<RegionOperation> {
  const out: RegionOperation = {
    kind: op.kind,
    source: await workingMask(op.source, plan),
    target: workingPoint(op.target, plan),
  };
  if (op.anchor) out.anchor = workingPoint(op.anchor, plan);
  return out;
}

/** The crop of a full-size mask, at the crop's own size (for the composite). */
export function cropOf(mask: BinaryMask, crop: Rect): BinaryMask {
  const out = createMask(crop.width, crop.height);
  for (let y = 0; y < crop.height; y++) {
    const from = (crop.y + y) * mask.width + crop.x;
    out.data.set(mask.data.subarray(from, from + crop.width), y * crop.width);
  }
  return out;
}

/** The edited working image back at the crop's size (8-bit RGB). */
export function backToCrop(
  edited: Uint8Array,
  plan: Pick<WorkPlan, 'crop' | 'working'>,
): Promise<Uint8Array> {
  const { crop, working } = plan;
  return resizeRaw(edited, working, 3, { x: 0, y: 0, ...working }, crop, 'lanczos3');
}
