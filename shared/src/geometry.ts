/**
 * Plane geometry for region polygons. Points are pixel coordinates [x, y]: x to the right,
 * y down, origin at the image's top-left corner; the image covers [0, width] x [0, height].
 */

export type Point = readonly [number, number];

/** Drops consecutive repeats and a closing vertex equal to the first (callers often close rings). */
export function distinctRing(polygon: readonly Point[]): Point[] {
  const ring: Point[] = [];
  for (const point of polygon) {
    const last = ring[ring.length - 1];
    if (!last || last[0] !== point[0] || last[1] !== point[1]) ring.push(point);
  }
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (ring.length > 1 && first && last && first[0] === last[0] && first[1] === last[1]) ring.pop();
  return ring;
}

/** Whether all vertices lie on one line (fewer than 3 distinct ones included): no area at all. */
export function isCollinear(ring: readonly Point[]): boolean {
  const [first] = ring;
  const second = ring.find((point) => first && (point[0] !== first[0] || point[1] !== first[1]));
  if (!first || !second) return true;
  return ring.every((point) => orientation(first, second, point) === 0);
}

/** Sign of the turn a -> b -> c: 1 left, -1 right, 0 collinear. */
function orientation(a: Point, b: Point, c: Point): number {
  return Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
}

/** Whether c, known collinear with segment ab, lies within its bounding box. */
function onSegment(a: Point, b: Point, c: Point): boolean {
  return (
    Math.min(a[0], b[0]) <= c[0] &&
    c[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= c[1] &&
    c[1] <= Math.max(a[1], b[1])
  );
}

/** Whether closed segments pq and rs share at least one point. */
export function segmentsIntersect(p: Point, q: Point, r: Point, s: Point): boolean {
  const o1 = orientation(p, q, r);
  const o2 = orientation(p, q, s);
  const o3 = orientation(r, s, p);
  const o4 = orientation(r, s, q);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(p, q, r)) ||
    (o2 === 0 && onSegment(p, q, s)) ||
    (o3 === 0 && onSegment(r, s, p)) ||
    (o4 === 0 && onSegment(r, s, q))
  );
}

/**
 * First pair of edges [i, j] that cross or touch, or undefined for a simple polygon. Edge i
 * runs from vertex i to vertex i+1. Neighbouring edges share a vertex by construction, so for
 * them only a fold back (overlap beyond the shared vertex) counts. O(n^2), fine for the
 * vertex limit.
 */
export function findSelfIntersection(ring: readonly Point[]): [number, number] | undefined {
  const n = ring.length;
  if (n < 3) return undefined;
  const edge = (i: number): [Point, Point] => [ring[i]!, ring[(i + 1) % n]!];
  for (let i = 0; i < n; i++) {
    const [a, b] = edge(i);
    for (let j = i + 1; j < n; j++) {
      const [c, d] = edge(j);
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      if (!adjacent) {
        if (segmentsIntersect(a, b, c, d)) return [i, j];
        continue;
      }
      // Shared vertex: b === c (j follows i) or d === a (the closing edge). The edges overlap
      // beyond it only if the far end of one lies on the other.
      const [shared, farOfI, farOfJ] = j === i + 1 ? [b, a, d] : [a, b, c];
      if (
        orientation(farOfI, shared, farOfJ) === 0 &&
        (onSegment(shared, farOfI, farOfJ) || onSegment(shared, farOfJ, farOfI))
      ) {
        return [i, j];
      }
    }
  }
  return undefined;
}

export function isInsideImage(point: Point, size: { width: number; height: number }): boolean {
  return point[0] >= 0 && point[0] <= size.width && point[1] >= 0 && point[1] <= size.height;
}
