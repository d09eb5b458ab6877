// @ts-check
/**
 * The edit request the playground sends, and the same request as a curl command or a JavaScript
 * snippet to copy. Snippets read the key from DRAGFLOW_API_KEY instead of embedding it.
 */

/** @typedef {import('./geometry.js').Point} Point */
/** @typedef {import('./geometry.js').OperationKind} OperationKind */
/**
 * @typedef {{ kind: OperationKind, maskUpload: string, target: Point, anchor?: Point }} OperationInput
 * @typedef {{ imageUpload: string, operations: OperationInput[],
 *   prompts: { background?: string, editing?: string }, options: Record<string, unknown> }} EditInput
 */

/**
 * Coordinates to 0.01 px: enough for any image, short in the copied request.
 * @param {Point} point
 * @returns {Point}
 */
function roundPoint([x, y]) {
  return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
}

/**
 * @param {EditInput} input
 * @returns {Record<string, unknown>}
 */
export function buildEditRequest(input) {
  /** @type {Record<string, unknown>} */
  const request = {
    image: { upload: input.imageUpload },
    operations: input.operations.map((op) => ({
      kind: op.kind,
      source: { mask: { upload: op.maskUpload } },
      target: roundPoint(op.target),
      ...(op.anchor ? { anchor: roundPoint(op.anchor) } : {}),
    })),
  };
  /** @type {Record<string, string>} */
  const prompts = {};
  if (input.prompts.background?.trim()) prompts.background = input.prompts.background.trim();
  if (input.prompts.editing?.trim()) prompts.editing = input.prompts.editing.trim();
  if (Object.keys(prompts).length > 0) request.prompts = prompts;
  if (Object.keys(input.options).length > 0) request.options = input.options;
  return request;
}

/**
 * Single quotes for a POSIX shell.
 * @param {string} text
 */
function shellQuote(text) {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/**
 * @param {string} apiBase e.g. https://host/v1
 * @param {Record<string, unknown>} request
 */
export function curlSnippet(apiBase, request) {
  return [
    `curl -sS ${shellQuote(`${apiBase}/edits`)} \\`,
    '  -H "Authorization: Bearer $DRAGFLOW_API_KEY" \\',
    "  -H 'Content-Type: application/json' \\",
    `  -d ${shellQuote(JSON.stringify(request))}`,
  ].join('\n');
}

/**
 * @param {string} apiBase
 * @param {Record<string, unknown>} request
 */
export function javascriptSnippet(apiBase, request) {
  return [
    `const response = await fetch(${JSON.stringify(`${apiBase}/edits`)}, {`,
    "  method: 'POST',",
    '  headers: {',
    "    authorization: 'Bearer ' + process.env.DRAGFLOW_API_KEY,",
    "    'content-type': 'application/json',",
    '  },',
    `  body: JSON.stringify(${JSON.stringify(request, null, 2).replaceAll('\n', '\n  ')}),`,
    '});',
    'const edit = await response.json(); // edit.urls.events streams its progress',
  ].join('\n');
}
