/**
 * The region operations of a parsed edit request (shared/src/edit-request.ts), at the image's
 * full size (the pipeline takes them to its working size, pipeline/working-image.ts): source
 * regions from masks or polygons, or point drags turned into operations by point-drags.ts; points
 * converted to pixel-centre coordinates; every operation validated.
 *
 * A source region may have several connected parts; they move together as one region (its
 * centroid is that of all parts). Point drags need editable_mask: it says which region each
 * handle moves (the contract leaves it optional, so its absence is reported here as `required`).
 */
import type { EditRequest } from '@dragflow/shared/edit-request';
import type { Path } from '@dragflow/shared/errors';
import type { ImageRef } from '@dragflow/shared/image-ref';
import type { BinaryMask } from '../image/binary-mask.ts';
import { InputError } from '../image/input-error.ts';
import { decodeMask, polygonMask } from '../image/mask.ts';
import { pointFromRequest, type Size } from './geometry.ts';
import { type RegionOperation, validateOperation } from './operation.ts';
import { pointDragsToOperations } from './point-drags.ts';

/** Fetches the bytes an image reference names (upload store, https or data URI): the server's part. */
export type LoadImageBytes = (ref: ImageRef, path: Path) => Promise<Uint8Array>;

export interface RequestOperations {
  operations: RegionOperation[];
  /** With drags: the request's editable mask (what the user allows to change). */
  editableMask: BinaryMask | null;
}

/** `image` is the decoded (upright) size the request's coordinates refer to. */
export async function requestOperations(
  request: Pick<EditRequest, 'operations' | 'drags' | 'editable_mask'>,
  image: Size,
  load: LoadImageBytes,
): Promise<RequestOperations> {
  const maskAt = async (ref: ImageRef, path: Path): Promise<BinaryMask> =>
    decodeMask(await load(ref, path), image, path);
  if (request.drags) {
    if (!request.editable_mask) {
      throw new InputError(
        'required',
        ['editable_mask'],
        'is needed with drags: it marks the regions the handles move',
      );
    }
    const editable = await maskAt(request.editable_mask, ['editable_mask']);
    const drags = request.drags.map((drag) => ({
      handle: pointFromRequest(drag.handle),
      target: pointFromRequest(drag.target),
    }));
    const operations = pointDragsToOperations(drags, editable);
    operations.forEach((op) => {
      validateOperation(op, ['editable_mask']);
    });
    return { operations, editableMask: editable };
  }
  const operations: RegionOperation[] = [];
  for (const [index, requested] of (request.operations ?? []).entries()) {
    const path: Path = ['operations', index];
    const { mask, polygons } = requested.source;
    const source = mask
      ? await maskAt(mask, [...path, 'source', 'mask'])
      : polygonMask(
          (polygons ?? []).map((ring) => ring.map(pointFromRequest)),
          image,
        );
    const op: RegionOperation = { kind: requested.kind, source, target: pointFromRequest(requested.target) };
    if (requested.anchor) op.anchor = pointFromRequest(requested.anchor);
    validateOperation(op, path);
    operations.push(op);
  }
  return { operations, editableMask: null };
}
