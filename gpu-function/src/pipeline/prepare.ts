/**
 * From a request to what the edit needs, all at the image's full size: the request validated (both
 * contract stages), the image decoded, the region operations, the gradient mask B, the resolved
 * settings and the prompts. The working size and crop come next (work-plan.ts), from B.
 *
 * With drags, B is kept inside the request's editable_mask (what the user allows to change) unless
 * the option grow_editable_mask lets it follow the moved region beyond it.
 */
import { checkAgainstImage, type EditRequest, parseEditRequest } from '@dragflow/shared/edit-request';
import type { Path } from '@dragflow/shared/errors';
import type { UrlPolicy } from '@dragflow/shared/https-url';
import { decodeBase64, type ImageRef, parseDataUri } from '@dragflow/shared/image-ref';
import { type Limits, resolveLimits } from '@dragflow/shared/limits';
import { resolveSettings, type Settings } from '@dragflow/shared/presets';
import { gradientMask } from '../dragflow/gradient-mask.ts';
import type { RegionOperation } from '../dragflow/operation.ts';
import { type LoadImageBytes, requestOperations } from '../dragflow/request-operations.ts';
import type { BinaryMask } from '../image/binary-mask.ts';
import { type DecodedImage, decodeImage } from '../image/decode.ts';
import { asRejection, EditRejected, rejection } from './errors.ts';

export interface Prompts {
  background: string;
  editing: string;
  /** background + editing prompt: what the edit is supervised and sampled with. */
  target: string;
}

export interface PreparedEdit {
  request: EditRequest;
  settings: Settings;
  prompts: Prompts;
  /** The decoded image at its own size (the output has this size). */
  original: DecodedImage;
  /** At image size. */
  operations: RegionOperation[];
  /** B at image size: the only pixels the edit may change. */
  editable: BinaryMask;
  /** With drags: the request's editable_mask at image size. */
  editableMask: BinaryMask | null;
}

/** Reads data-URI images; other references (uploads, URLs) are fetched by the server before this. */
export function inlineImageLoader(limits: Partial<Limits> = {}): LoadImageBytes {
  const { maxImageBytes } = resolveLimits(limits);
  return async (ref: ImageRef, path: Path) => {
    const uri = 'data' in ref && typeof ref.data === 'string' ? parseDataUri(ref.data) : undefined;
    if (!uri)
      throw rejection('image_unreadable', path, 'only inline base64 data URIs can be read by the worker');
    const bytes = decodeBase64(uri.base64, maxImageBytes + 1);
    if (bytes.length > maxImageBytes) {
      throw rejection('image_too_large', path, `is over the ${maxImageBytes}-byte limit`);
    }
    return bytes;
  };
}

export async function prepareEdit(
  input: unknown,
  load: LoadImageBytes = inlineImageLoader(),
  limits: Partial<Limits> = {},
  urlPolicy: UrlPolicy = {},
): Promise<PreparedEdit> {
  const parsed = parseEditRequest(input, limits, urlPolicy);
  if (!parsed.ok) throw new EditRejected(parsed.errors);
  const request = parsed.value;
  try {
    const original = await decodeImage(await load(request.image, ['image']), limits, ['image']);
    const checked = checkAgainstImage(request, original, limits);
    if (!checked.ok) throw new EditRejected(checked.errors);
    const { operations, editableMask } = await requestOperations(request, original, load);
    const settings = resolveSettings(request.options);
    const editable = gradientMask(operations, original);
    if (editableMask && !settings.grow_editable_mask) {
      for (let i = 0; i < editable.data.length; i++)
        editable.data[i] = editable.data[i]! & editableMask.data[i]!;
    }
    const background = request.prompts?.background ?? '';
    const editing = request.prompts?.editing ?? '';
    return {
      request,
      settings,
      prompts: { background, editing, target: [background, editing].filter((p) => p !== '').join(' ') },
      original,
      operations,
      editable,
      editableMask,
    };
  } catch (error) {
    throw asRejection(error);
  }
}
