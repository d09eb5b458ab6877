/**
 * The edit request and its two-stage validation.
 *
 * Stage 1, `parseEditRequest`, needs only the JSON: structure, types, unknown fields, option
 * ranges, polygon shape, and coordinates that are negative or beyond any allowed image.
 * Stage 2, `checkAgainstImage`, runs once the image size is known (from an upload record, the
 * bytes' header, or the decoded image): coordinates outside the image, image size limits and
 * mask sizes. Both return the same result shape with contract errors.
 */
import { z } from 'zod';
import { type ContractError, contractError, type Path } from './errors.ts';
import { distinctRing, findSelfIntersection, isCollinear, isInsideImage, type Point } from './geometry.ts';
import { httpsUrlSchema, type UrlPolicy } from './https-url.ts';
import { type ImageRef, imageRefSchema, inlineImageInfo } from './image-ref.ts';
import { crossFieldCheck, report, type ValidationResult, validate } from './issues.ts';
import { DEFAULT_LIMITS, type Limits, resolveLimits } from './limits.ts';
import { EditOptionsSchema } from './options.ts';
import { WebhookEventsFilterSchema } from './webhook.ts';

/**
 * relocate: move the region so its centroid lands on the target. deform: the same transform on
 * part of an object (the prompt says how it bends). rotate: turn about the anchor by the angle
 * from (centroid - anchor) to (target - anchor). scale (our extension): grow or shrink about
 * the anchor by |target - anchor| / |centroid - anchor|.
 */
export const OPERATION_KINDS = ['relocate', 'deform', 'rotate', 'scale'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
export const ANCHORED_KINDS: readonly OperationKind[] = ['rotate', 'scale'];

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

function describePoint([x, y]: Point): string {
  return `(${x}, ${y})`;
}

function pointSchema(limits: Limits, description: string) {
  // The bounds are stated for JSON Schema readers; the check below reports them with our code.
  const coordinate = z.number().meta({ minimum: 0, maximum: limits.maxImageSide });
  return z
    .tuple([coordinate, coordinate])
    .check((ctx) => {
      const [x, y] = ctx.value;
      if (x < 0 || y < 0) {
        report(
          ctx,
          'coordinate_outside_image',
          [],
          `point ${describePoint(ctx.value)} has a negative coordinate`,
        );
      } else if (x > limits.maxImageSide || y > limits.maxImageSide) {
        report(
          ctx,
          'coordinate_outside_image',
          [],
          `point ${describePoint(ctx.value)} lies beyond the largest allowed image side (${limits.maxImageSide})`,
        );
      }
    })
    .meta({
      description: `${description} [x, y] in pixels, x right, y down, origin at the top-left corner.`,
    });
}

function polygonSchema(limits: Limits) {
  return z
    .array(pointSchema(limits, 'Vertex'))
    .check((ctx) => {
      const count = ctx.value.length;
      if (count < 3) {
        report(ctx, 'polygon_too_few_points', [], `has ${count} vertices; a polygon needs at least 3`);
        return;
      }
      if (count > limits.maxPolygonVertices) {
        report(
          ctx,
          'polygon_too_many_points',
          [],
          `has ${count} vertices; the limit is ${limits.maxPolygonVertices}`,
        );
        return;
      }
      // Collinear first: such a ring also folds onto itself, but "empty" says what is wrong.
      const ring = distinctRing(ctx.value);
      if (isCollinear(ring)) {
        report(ctx, 'empty_region', [], 'encloses no area (its vertices are collinear or repeated)');
        return;
      }
      const crossing = findSelfIntersection(ring);
      if (crossing) {
        report(
          ctx,
          'polygon_self_intersecting',
          [],
          `edges ${crossing[0]} and ${crossing[1]} cross or touch`,
        );
      }
    })
    .meta({
      description: 'Simple polygon (edges must not cross); a closing vertex equal to the first is optional.',
      minItems: 3,
      maxItems: limits.maxPolygonVertices,
    });
}

function regionSourceSchema(limits: Limits, urlPolicy: UrlPolicy) {
  return z
    .strictObject({
      mask: imageRefSchema(limits, urlPolicy)
        .meta({ description: 'Binary mask the size of the image; white (> 50%) marks the region.' })
        .optional(),
      polygons: z
        .array(polygonSchema(limits))
        .min(1)
        .max(limits.maxPolygonsPerRegion)
        .meta({ description: 'Polygons whose union is the region.' })
        .optional(),
    })
    .check(
      crossFieldCheck((ctx) => {
        const { mask, polygons } = ctx.value;
        if (mask === undefined && polygons === undefined)
          report(ctx, 'required', [], 'needs exactly one of mask, polygons');
        if (mask !== undefined && polygons !== undefined) {
          report(
            ctx,
            'conflicting_fields',
            ['polygons'],
            'cannot be given together with mask; use exactly one',
          );
        }
      }),
    )
    .meta({
      title: 'RegionSource',
      description: 'The region to move: a mask image or polygons.',
      oneOf: [{ required: ['mask'] }, { required: ['polygons'] }],
    });
}

function operationSchema(limits: Limits, urlPolicy: UrlPolicy) {
  return z
    .strictObject({
      kind: z.enum(OPERATION_KINDS),
      source: regionSourceSchema(limits, urlPolicy),
      target: pointSchema(limits, 'Where the region centroid goes,'),
      anchor: pointSchema(limits, 'Pivot of rotate and scale,').optional(),
    })
    .check(
      crossFieldCheck((ctx) => {
        const anchored = ANCHORED_KINDS.includes(ctx.value.kind);
        if (anchored && ctx.value.anchor === undefined) {
          report(
            ctx,
            'anchor_required',
            ['anchor'],
            `is required for a ${ctx.value.kind} operation (the pivot point)`,
          );
        }
        if (!anchored && ctx.value.anchor !== undefined) {
          report(
            ctx,
            'field_not_allowed',
            ['anchor'],
            `is used by ${ANCHORED_KINDS.join(' and ')} only, not ${ctx.value.kind}`,
          );
        }
      }),
    )
    .meta({
      title: 'RegionOperation',
      // Anchored kinds need an anchor; the others must not carry one.
      anyOf: [
        { properties: { kind: { enum: ANCHORED_KINDS } }, required: ['anchor'] },
        {
          properties: { kind: { enum: OPERATION_KINDS.filter((kind) => !ANCHORED_KINDS.includes(kind)) } },
          not: { required: ['anchor'] },
        },
      ],
    });
}

/** An array whose length limit has its own error code. */
function limitedList<T extends z.ZodType>(item: T, max: number, what: string) {
  return z
    .array(item)
    .check((ctx) => {
      if (ctx.value.length === 0) report(ctx, 'too_short', [], `needs at least one ${what}`);
      if (ctx.value.length > max) {
        report(ctx, 'too_many_operations', [], `has ${ctx.value.length} ${what}s; the limit is ${max}`);
      }
    })
    .meta({ minItems: 1, maxItems: max });
}

function dragSchema(limits: Limits) {
  return z
    .strictObject({
      handle: pointSchema(limits, 'Point to drag,'),
      target: pointSchema(limits, 'Where the handle goes,'),
    })
    .meta({ title: 'PointDrag' });
}

function metadataSchema(limits: Limits) {
  return z
    .record(z.string(), z.unknown())
    .check((ctx) => {
      const bytes = new TextEncoder().encode(JSON.stringify(ctx.value)).length;
      if (bytes > limits.maxMetadataBytes) {
        report(
          ctx,
          'metadata_too_large',
          [],
          `is ${bytes} bytes as JSON; the limit is ${limits.maxMetadataBytes}`,
        );
      }
    })
    .meta({
      description: `Free-form JSON object echoed on the job, at most ${limits.maxMetadataBytes} bytes.`,
    });
}

/**
 * The edit request schema under the given limits. The URL policy is https only unless a server's
 * local-development switch allows http to loopback hosts (https-url.ts).
 */
export function editRequestSchema(limits: Limits = DEFAULT_LIMITS, urlPolicy: UrlPolicy = {}) {
  const prompt = (description: string) => z.string().max(limits.maxPromptLength).meta({ description });
  return z
    .strictObject({
      image: imageRefSchema(limits, urlPolicy).meta({ description: 'The photo to edit.' }),
      operations: limitedList(operationSchema(limits, urlPolicy), limits.maxOperations, 'operation')
        .meta({ description: 'Region operations, applied together.' })
        .optional(),
      drags: limitedList(dragSchema(limits), limits.maxDrags, 'drag')
        .meta({ description: 'Point drags (DragBench style), an alternative to operations.' })
        .optional(),
      editable_mask: imageRefSchema(limits, urlPolicy)
        .meta({ description: 'With drags: the area that may change (white); the rest is kept.' })
        .optional(),
      prompts: z
        .strictObject({
          background: prompt('Describes the scene; used for inversion.').optional(),
          editing: prompt('Describes the change; appended to the background prompt for the edit.').optional(),
        })
        .optional(),
      options: EditOptionsSchema.optional(),
      webhook: httpsUrlSchema(
        limits.maxUrlLength,
        'https URL that receives job events.',
        urlPolicy,
      ).optional(),
      webhook_events_filter: WebhookEventsFilterSchema.optional(),
      metadata: metadataSchema(limits).optional(),
    })
    .check(
      crossFieldCheck((ctx) => {
        const { operations, drags, editable_mask: editableMask, webhook } = ctx.value;
        if (operations === undefined && drags === undefined) {
          report(ctx, 'required', ['operations'], 'is required (or give drags instead)');
        }
        if (operations !== undefined && drags !== undefined) {
          report(
            ctx,
            'conflicting_fields',
            ['drags'],
            'cannot be given together with operations; use exactly one',
          );
        }
        if (editableMask !== undefined && drags === undefined) {
          report(
            ctx,
            'field_not_allowed',
            ['editable_mask'],
            'is used with drags only; operations compute their own',
          );
        }
        if (ctx.value.webhook_events_filter !== undefined && webhook === undefined) {
          report(
            ctx,
            'field_not_allowed',
            ['webhook_events_filter'],
            'needs a webhook to deliver the events to',
          );
        }
      }),
    )
    .meta({
      title: 'EditRequest',
      description: 'One drag edit of one image.',
      oneOf: [{ required: ['operations'] }, { required: ['drags'] }],
      dependentRequired: { editable_mask: ['drags'], webhook_events_filter: ['webhook'] },
    });
}

export type EditRequest = z.infer<ReturnType<typeof editRequestSchema>>;
export type RegionOperation = NonNullable<EditRequest['operations']>[number];
export type PointDrag = NonNullable<EditRequest['drags']>[number];

const schemaCache = new Map<string, ReturnType<typeof editRequestSchema>>();

function cachedSchema(limits: Limits, urlPolicy: UrlPolicy): ReturnType<typeof editRequestSchema> {
  const key = JSON.stringify({ limits, urlPolicy });
  let schema = schemaCache.get(key);
  if (!schema) {
    schema = editRequestSchema(limits, urlPolicy);
    schemaCache.set(key, schema);
  }
  return schema;
}

/** Stage 1: validates the JSON structure of a request. */
export function parseEditRequest(
  input: unknown,
  limits: Partial<Limits> = {},
  urlPolicy: UrlPolicy = {},
): ValidationResult<EditRequest> {
  return validate(cachedSchema(resolveLimits(limits), urlPolicy), input);
}

/** The error for a source region found empty, wherever that is detected (e.g. after decoding a mask). */
export function emptyRegionError(path: Path): ContractError {
  return contractError('empty_region', path, 'selects no pixels; the region to move is empty');
}

/** The error for a mask whose size differs from the image. */
export function maskSizeMismatchError(path: Path, mask: ImageSize, image: ImageSize): ContractError {
  return contractError(
    'mask_size_mismatch',
    path,
    `is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}; they must match`,
  );
}

/** Path of operation `index`'s mask, for errors found after decoding it. */
export function regionMaskPath(index: number): Path {
  return ['operations', index, 'source', 'mask'];
}

/**
 * The image-size limit an image of `size` breaks, if any. Shared by the request check and by the
 * GPU function's decoder, so both answer the same image with the same code and message.
 */
export function imageSizeError(
  size: ImageSize,
  limits: Partial<Limits> = {},
  path: Path = ['image'],
): ContractError | undefined {
  const { minImageSide, maxImageSide, maxImagePixels } = resolveLimits(limits);
  const { width, height } = size;
  const dims = `${width}x${height}`;
  if (Math.min(width, height) < minImageSide) {
    return contractError('image_too_small', path, `is ${dims}; each side must be at least ${minImageSide}`);
  }
  if (Math.max(width, height) > maxImageSide) {
    return contractError('image_too_large', path, `is ${dims}; each side must be at most ${maxImageSide}`);
  }
  if (width * height > maxImagePixels) {
    return contractError(
      'image_too_large',
      path,
      `is ${dims} = ${width * height} pixels; the limit is ${maxImagePixels}`,
    );
  }
  return undefined;
}

/** Every point of a request with its path. */
function* requestPoints(request: EditRequest): Generator<[Path, Point]> {
  for (const [i, operation] of (request.operations ?? []).entries()) {
    for (const [j, polygon] of (operation.source.polygons ?? []).entries()) {
      for (const [k, vertex] of polygon.entries())
        yield [['operations', i, 'source', 'polygons', j, k], vertex];
    }
    yield [['operations', i, 'target'], operation.target];
    if (operation.anchor) yield [['operations', i, 'anchor'], operation.anchor];
  }
  for (const [i, drag] of (request.drags ?? []).entries()) {
    yield [['drags', i, 'handle'], drag.handle];
    yield [['drags', i, 'target'], drag.target];
  }
}

/** Every mask of a request with its path. */
export function* requestMasks(request: EditRequest): Generator<[Path, ImageRef]> {
  for (const [i, operation] of (request.operations ?? []).entries()) {
    if (operation.source.mask) yield [regionMaskPath(i), operation.source.mask];
  }
  if (request.editable_mask) yield [['editable_mask'], request.editable_mask];
}

/**
 * Stage 2: checks a parsed request against the image size. Masks given as data URIs are
 * measured from their header here; other masks are checked by whoever decodes them, with
 * `maskSizeMismatchError` and `emptyRegionError`.
 */
export function checkAgainstImage(
  request: EditRequest,
  size: ImageSize,
  limits: Partial<Limits> = {},
): ValidationResult<EditRequest> {
  const sizeError = imageSizeError(size, limits);
  const errors = sizeError ? [sizeError] : [];
  for (const [path, point] of requestPoints(request)) {
    if (!isInsideImage(point, size)) {
      errors.push(
        contractError(
          'coordinate_outside_image',
          path,
          `point ${describePoint(point)} lies outside the ${size.width}x${size.height} image (x in [0, ${size.width}], y in [0, ${size.height}])`,
        ),
      );
    }
  }
  for (const [path, mask] of requestMasks(request)) {
    const info = inlineImageInfo(mask);
    if (info && (info.width !== size.width || info.height !== size.height)) {
      errors.push(maskSizeMismatchError(path, info, size));
    }
  }
  return errors.length === 0 ? { ok: true, value: request } : { ok: false, errors };
}
