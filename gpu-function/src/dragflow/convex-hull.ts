/** Convex hull of a point set by Andrew's monotone chain. */
import type { Point } from '../image/binary-mask.ts';

function cross(o: Point, a: Point, b: Point): number {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/**
 * Hull vertices in counter-clockwise order for a y-up frame (clockwise on screen, where y points
 * down), without collinear points or duplicates. Fewer than three vertices when the points are
 * all equal (one) or collinear (the two extremes).
 */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const unique = sorted.filter((p, i) => i === 0 || p.x !== sorted[i - 1]!.x || p.y !== sorted[i - 1]!.y);
  if (unique.length < 3) return unique;
  const chain = (ordered: Point[]): Point[] => {
    const out: Point[] = [];
    for (const p of ordered) {
      while (out.length >= 2 && cross(out[out.length - 2]!, out[out.length - 1]!, p) <= 0) out.pop();
      out.push(p);
    }
    out.pop(); // the last point starts the other chain
    return out;
  };
  const hull = [...chain(unique), ...chain([...unique].reverse())];
  return hull.length >= 3 ? hull : [unique[0]!, unique[unique.length - 1]!];
}
