/**
 * From a request to what the model needs: the request validated (both contract stages), the image
 * decoded and cropped to the working size (sides floored to 16), the region operations, the
 * gradient mask B, the resolved settings and the prompts.
 */
import { checkAgainstImage, type EditRequest, parseEditRequest } from '@dragflow/shared/edit-request';
import type { Path } from '@dragflow/shared/errors';
import type { UrlPolicy } from '@dragflow/shared/https-url';
import { decodeBase64, type ImageRef, parseDataUri } from '@dragflow/shared/image-ref';
import { type Limits, resolveLimits } from '@dragflow/shared/limits';
import { resolveSettings, type Settings } from '@dragflow/shared/presets';
import type { Size } from '../dragflow/geometry.ts';
import { gradientMask } from '../dragflow/gradient-mask.ts';
import type { RegionOperation } from '../dragflow/operation.ts';
import { type LoadImageBytes, requestOperations } from '../dragflow/request-operations.ts';
import type { BinaryMask } from '../image/binary-mask.ts';
import { cropRgb, type DecodedImage, decodeImage, workingSize } from '../image/decode.ts';
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
  /** Its top-left crop with sides floored to 16: what the model edits. */
  working: Size;
  workingRgb: Uint8Array;
  operations: RegionOperation[];
  /** B at working-image size. */
  editable: BinaryMask;
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
    const operations = await requestOperations(request, original, load);
    const working = workingSize(original);
    const editable = gradientMask(operations, working);
    const background = request.prompts?.background ?? '';
    const editing = request.prompts?.editing ?? '';
    return {
      request,
      settings: resolveSettings(request.options),
      prompts: { background, editing, target: [background, editing].filter((p) => p !== '').join(' ') },
      original,
      working,
      workingRgb: cropRgb(original.rgb, original, working),
      operations,
      editable,
    };
  } catch (error) {
    throw asRejection(error);
  }
}
