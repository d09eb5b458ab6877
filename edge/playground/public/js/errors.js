// @ts-check
/**
 * API errors next to the control that caused them. An ApiError lists contract errors, each with a
 * path into the request (["operations", 0, "target"]); every control carries the path it edits
 * (data-path="operations.0.target"), and an error goes to the control with the longest path that
 * starts its own, or to the form's general slot ("request") when none does.
 */

/** @typedef {{ code: string, path: (string | number)[], message: string }} ContractError */
/** @typedef {{ code: string, message: string, details?: { errors?: ContractError[] } }} ApiErrorBody */

/**
 * @param {(string | number)[]} path
 */
export function pathKey(path) {
  return path.length === 0 ? 'request' : path.join('.');
}

/**
 * The key among `available` that best locates `key`: itself, else its longest ancestor, else "request".
 * @param {string} key
 * @param {Iterable<string>} available
 */
export function closestKey(key, available) {
  let best = 'request';
  for (const candidate of available) {
    const within = key === candidate || key.startsWith(`${candidate}.`);
    if (within && (best === 'request' || candidate.length > best.length)) best = candidate;
  }
  return best;
}

/**
 * The messages of an error response, each with the control key it belongs to. Errors without a
 * path (unauthorized, insufficient credits) are placed by their code.
 * @param {ApiErrorBody} body
 * @param {Iterable<string>} available keys of the controls on the page
 * @returns {{ key: string, code: string, message: string }[]}
 */
export function placeErrors(body, available) {
  const keys = [...available];
  const listed = body.details?.errors;
  if (listed && listed.length > 0) {
    return listed.map((error) => ({
      key: closestKey(pathKey(error.path), keys),
      code: error.code,
      message: error.message,
    }));
  }
  const byCode = body.code === 'unauthorized' && keys.includes('authorization') ? 'authorization' : 'request';
  return [{ key: byCode, code: body.code, message: body.message }];
}
