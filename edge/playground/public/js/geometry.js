// @ts-check
/**
 * Where an operation sends its region, for the live outline: the same transforms the contract
 * defines (shared/src/edit-request.ts) and the pipeline applies at full motion. Points are in the
 * request's frame: pixels, the image covers [0, width] x [0, height], so pixel (column j, row i)
 * has its centre at (j + 0.5, i + 0.5).
 *
 * relocate, deform: translate by target - centroid (the centroid rounded to a pixel centre, as
 * the pipeline does); rotate: about the anchor by the angle from (centroid - anchor) to
 * (target - anchor), wrapped to [-180, 180); scale: about the anchor by
 * |target - anchor| / |centroid - anchor|.
 */

/** @typedef {'relocate' | 'deform' | 'rotate' | 'scale'} OperationKind */
/** @typedef {[number, number]} Point */
/**
 * 2D affine map in the order of CanvasRenderingContext2D.setTransform:
 * x' = a x + c y + e, y' = b x + d y + f.
 * @typedef {{ a: number, b: number, c: number, d: number, e: number, f: number }} Affine
 */

/** @type {readonly OperationKind[]} */
export const ANCHORED_KINDS = ['rotate', 'scale'];

/** @param {OperationKind} kind */
export function needsAnchor(kind) {
  return ANCHORED_KINDS.includes(kind);
}

/** @param {number} degrees */
export function wrapDegrees(degrees) {
  return ((((degrees + 180) % 360) + 360) % 360) - 180;
}

/**
 * The centroid as the pipeline moves it: rounded to the nearest pixel centre (halves up).
 * @param {Point} centroid
 * @returns {Point}
 */
export function roundedCentroid([x, y]) {
  return [Math.round(x - 0.5) + 0.5, Math.round(y - 0.5) + 0.5];
}

/**
 * @param {Point} a
 * @param {Point} b
 */
export function distance(a, b) {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/**
 * Rotation angle in degrees (clockwise on screen, as y points down) of a rotate operation.
 * @param {Point} centroid
 * @param {Point} target
 * @param {Point} anchor
 */
export function rotationDegrees(centroid, target, anchor) {
  const b = roundedCentroid(centroid);
  const turn =
    Math.atan2(target[1] - anchor[1], target[0] - anchor[0]) - Math.atan2(b[1] - anchor[1], b[0] - anchor[0]);
  return wrapDegrees((turn * 180) / Math.PI);
}

/**
 * Factor of a scale operation (from the unrounded centroid: it is a ratio of distances).
 * @param {Point} centroid
 * @param {Point} target
 * @param {Point} anchor
 */
export function scaleFactor(centroid, target, anchor) {
  return distance(target, anchor) / distance(centroid, anchor);
}

/**
 * @param {Point} pivot
 * @param {number} cos
 * @param {number} sin
 * @param {number} factor
 * @returns {Affine}
 */
function about([px, py], cos, sin, factor) {
  const a = factor * cos;
  const b = factor * sin;
  return { a, b, c: -b, d: a, e: px - a * px + b * py, f: py - b * px - a * py };
}

/**
 * The full-motion transform of an operation, or undefined while it lacks what it needs (an anchor
 * for rotate and scale, an anchor apart from the centroid).
 * @param {OperationKind} kind
 * @param {Point} centroid
 * @param {Point} target
 * @param {Point | undefined} anchor
 * @returns {Affine | undefined}
 */
export function operationTransform(kind, centroid, target, anchor) {
  if (kind === 'relocate' || kind === 'deform') {
    const b = roundedCentroid(centroid);
    return { a: 1, b: 0, c: 0, d: 1, e: target[0] - b[0], f: target[1] - b[1] };
  }
  if (!anchor || distance(centroid, anchor) < 1) return undefined;
  if (kind === 'rotate') {
    const radians = (rotationDegrees(centroid, target, anchor) * Math.PI) / 180;
    return about(anchor, Math.cos(radians), Math.sin(radians), 1);
  }
  return about(anchor, 1, 0, scaleFactor(centroid, target, anchor));
}

/**
 * @param {Affine} m
 * @param {Point} point
 * @returns {Point}
 */
export function applyAffine(m, [x, y]) {
  return [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
}

/**
 * A short description of what an operation does, e.g. "moves +48, -3 px".
 * @param {OperationKind} kind
 * @param {Point} centroid
 * @param {Point} target
 * @param {Point | undefined} anchor
 */
export function describeMotion(kind, centroid, target, anchor) {
  if (kind === 'relocate' || kind === 'deform') {
    const b = roundedCentroid(centroid);
    const dx = Math.round(target[0] - b[0]);
    const dy = Math.round(target[1] - b[1]);
    const signed = (/** @type {number} */ v) => (v > 0 ? `+${v}` : `${v}`);
    return `${kind === 'deform' ? 'bends' : 'moves'} ${signed(dx)}, ${signed(dy)} px`;
  }
  if (!anchor || distance(centroid, anchor) < 1) return 'drag the anchor away from the region centre';
  if (kind === 'rotate') return `turns ${rotationDegrees(centroid, target, anchor).toFixed(1)}°`;
  return `scales ×${scaleFactor(centroid, target, anchor).toFixed(2)}`;
}
