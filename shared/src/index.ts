/**
 * @dragflow/shared: the public edit contract, imported by the edge (Workers) and the GPU
 * function (Node). Runtime-validated zod schemas, their inferred types, the error model, the
 * limits and the DragFlow presets.
 *
 * - `parseEditRequest(json, limits?)` then `checkAgainstImage(request, {width, height})`:
 *   `{ok: true, value}` or `{ok: false, errors: ContractError[]}` (code, path, message).
 * - `resolveSettings(request.options)`: every hyperparameter, preset plus overrides.
 * - `JobSchema`, `WebhookPayloadSchema`, `ApiErrorSchema` with `validate(schema, json)`.
 * - `PredictionRequestSchema`, `PredictionSchema`: the Cog API of the GPU function.
 * - `renderContractJsonSchemas()`: the JSON Schema files `npm run build:schema` writes.
 */
export * from './edit-request.ts';
export * from './errors.ts';
export * from './geometry.ts';
export * from './https-url.ts';
export * from './image-info.ts';
export * from './image-ref.ts';
export * from './issues.ts';
export * from './job.ts';
export * from './json-schema.ts';
export * from './limits.ts';
export * from './options.ts';
export * from './prediction.ts';
export * from './presets.ts';
export * from './webhook.ts';
