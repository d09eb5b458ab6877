// @ts-check
/**
 * What the form offers comes from the API's own OpenAPI document (GET /v1/openapi.json): the
 * operation kinds, the operation limit, the presets and the main options with their ranges,
 * defaults and descriptions. The page therefore never disagrees with the contract it calls.
 */

/**
 * @typedef {{ name: string, type: 'integer' | 'number' | 'boolean' | 'enum',
 *   description: string, defaultValue: unknown, minimum?: number, maximum?: number,
 *   choices?: string[] }} OptionField
 * @typedef {{ kinds: string[], maxOperations: number, maxPromptLength: number | undefined,
 *   presets: string[], defaultPreset: string | undefined, options: OptionField[],
 *   phases: string[] }} FormSchema
 */

/** The options the form shows, in this order (the rest stay at the preset's values). */
export const MAIN_OPTIONS = [
  'seed',
  'steps',
  'skip_steps',
  'transport_iterations',
  'intensify_iterations',
  'preview_interval',
  'output_format',
  'background_compositing',
];

/**
 * Short schedule and few iterations: a demo edit in seconds on a CPU (not the paper's quality).
 * @type {Readonly<Record<string, number>>}
 */
export const QUICK_OPTIONS = {
  steps: 4,
  skip_steps: 2,
  transport_iterations: 6,
  intensify_iterations: 2,
  preview_interval: 2,
};

/**
 * @param {unknown} value
 * @returns {Record<string, any>}
 */
function object(value) {
  return value !== null && typeof value === 'object' ? /** @type {Record<string, any>} */ (value) : {};
}

/**
 * @param {Record<string, any>} document
 * @param {Record<string, any>} schema
 * @returns {Record<string, any>}
 */
function resolveRef(document, schema) {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  /** @type {any} */
  let node = document;
  for (const part of ref.slice(2).split('/'))
    node = object(node)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return object(node);
}

/**
 * @param {string} name
 * @param {Record<string, any>} schema
 * @returns {OptionField | undefined}
 */
function field(name, schema) {
  const base = { name, description: String(schema.description ?? ''), defaultValue: schema.default };
  if (Array.isArray(schema.enum)) return { ...base, type: 'enum', choices: schema.enum.map(String) };
  if (schema.type === 'boolean') return { ...base, type: 'boolean' };
  if (schema.type === 'integer' || schema.type === 'number') {
    return {
      ...base,
      type: schema.type,
      ...(typeof schema.minimum === 'number' ? { minimum: schema.minimum } : {}),
      ...(typeof schema.maximum === 'number' ? { maximum: schema.maximum } : {}),
    };
  }
  return undefined;
}

/**
 * @param {unknown} openapi the parsed /v1/openapi.json
 * @returns {FormSchema}
 */
export function formSchema(openapi) {
  const document = object(openapi);
  const request = resolveRef(document, object(object(object(document.components).schemas).EditRequest));
  const properties = object(request.properties);
  const operations = resolveRef(document, object(properties.operations));
  const operation = resolveRef(document, object(operations.items));
  const kinds = object(object(operation.properties).kind).enum;
  const options = resolveRef(document, object(properties.options));
  const optionProperties = object(options.properties);
  const preset = object(optionProperties.preset);
  const editingPrompt = object(object(resolveRef(document, object(properties.prompts)).properties).editing);
  const edit = resolveRef(document, object(object(object(document.components).schemas).Edit));
  const progress = resolveRef(document, object(object(edit.properties).progress));
  const phase = (Array.isArray(progress.anyOf) ? progress.anyOf : [progress])
    .map((/** @type {unknown} */ branch) =>
      object(object(resolveRef(document, object(branch)).properties).phase),
    )
    .find((/** @type {Record<string, any>} */ branch) => Array.isArray(branch.enum));
  return {
    kinds: Array.isArray(kinds) ? kinds.map(String) : ['relocate', 'deform', 'rotate', 'scale'],
    maxOperations: typeof operations.maxItems === 'number' ? operations.maxItems : 1,
    maxPromptLength: typeof editingPrompt.maxLength === 'number' ? editingPrompt.maxLength : undefined,
    presets: Array.isArray(preset.enum) ? preset.enum.map(String) : [],
    defaultPreset: typeof preset.default === 'string' ? preset.default : undefined,
    phases: phase ? phase.enum.map(String) : [],
    options: MAIN_OPTIONS.flatMap((name) => {
      const found = field(name, resolveRef(document, object(optionProperties[name])));
      return found ? [found] : [];
    }),
  };
}
