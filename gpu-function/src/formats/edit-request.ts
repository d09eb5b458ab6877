/**
 * Reference samples as public edit requests, with the image and masks inline as PNG data URIs.
 * The result is not validated here: pass it to `parseEditRequest` / `checkAgainstImage`, whose
 * limits (drag count, image size, prompt length) may reject samples the readers accept.
 */
import type { EditRequest, RegionOperation as RequestOperation } from '@dragflow/shared/edit-request';
import type { ImageRef } from '@dragflow/shared/image-ref';
import type { Point } from '../image/binary-mask.ts';
import type { DragBenchSample } from './dragbench.ts';
import type { RedBenchSample } from './redbench.ts';
import { encodePngMask } from './sample-files.ts';

/** Point drags plus the editable mask; DragBench's one prompt describes the scene, so it is the background prompt. */
export async function dragBenchToEditRequest(sample: DragBenchSample): Promise<EditRequest> {
  return {
    image: pngRef(sample.image.bytes),
    drags: sample.drags.map(({ handle, target }) => ({ handle: pair(handle), target: pair(target) })),
    editable_mask: pngRef(await encodePngMask(sample.editableMask)),
    prompts: { background: sample.prompt },
  };
}

/**
 * Region operations with their source masks; the anchor travels with rotations only (the
 * contract refuses it elsewhere). Begin centroids are dropped (the service recomputes them from
 * the mask), and so are the point operations, which exist for point-based baselines.
 */
export async function redBenchToEditRequest(sample: RedBenchSample): Promise<EditRequest> {
  const operations = await Promise.all(
    sample.operations.map(async ({ task, target, anchor, sourceMask }): Promise<RequestOperation> => {
      const operation: RequestOperation = {
        kind: task,
        source: { mask: pngRef(await encodePngMask(sourceMask)) },
        target: pair(target),
      };
      if (task === 'rotate' && anchor !== null) operation.anchor = pair(anchor);
      return operation;
    }),
  );
  return {
    image: pngRef(sample.image.bytes),
    operations,
    prompts: { background: sample.backgroundPrompt, editing: sample.editingPrompt },
  };
}

function pngRef(bytes: Uint8Array): ImageRef {
  return { data: `data:image/png;base64,${Buffer.from(bytes).toString('base64')}` };
}

function pair({ x, y }: Point): [number, number] {
  return [x, y];
}
