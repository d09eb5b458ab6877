import { describe, expect, it } from 'vitest';
import {
  distinctRing,
  findSelfIntersection,
  isCollinear,
  isInsideImage,
  type Point,
  segmentsIntersect,
} from '../src/geometry.ts';

const square: Point[] = [
  [0, 0],
  [4, 0],
  [4, 4],
  [0, 4],
];

describe('polygons', () => {
  it('calls a ring without area collinear', () => {
    expect(isCollinear(square)).toBe(false);
    expect(
      isCollinear([
        [0, 0],
        [1, 1],
        [2, 2],
        [0.5, 0.5],
      ]),
    ).toBe(true);
    expect(
      isCollinear([
        [3, 3],
        [3, 3],
      ]),
    ).toBe(true);
    expect(isCollinear([])).toBe(true);
  });

  it('drops repeated and closing vertices', () => {
    expect(
      distinctRing([
        [0, 0],
        [0, 0],
        [4, 0],
        [4, 4],
        [0, 0],
      ]),
    ).toEqual([
      [0, 0],
      [4, 0],
      [4, 4],
    ]);
  });

  it('finds crossing, touching and folding edges', () => {
    expect(findSelfIntersection(square)).toBeUndefined();
    // Bow tie: edge 0 (0,0)-(4,4) crosses edge 2 (4,0)-(0,4).
    expect(
      findSelfIntersection([
        [0, 0],
        [4, 4],
        [4, 0],
        [0, 4],
      ]),
    ).toEqual([0, 2]);
    // Vertex (2,0) touches edge 0, (0,0)-(4,0); edge 2 ends there.
    expect(
      findSelfIntersection([
        [0, 0],
        [4, 0],
        [4, 4],
        [2, 0],
        [0, 4],
      ]),
    ).toEqual([0, 2]);
    // A spike folding back along its incoming edge.
    expect(
      findSelfIntersection([
        [0, 0],
        [4, 0],
        [2, 0],
        [2, 3],
      ]),
    ).toEqual([0, 1]);
    // Concave but simple.
    expect(
      findSelfIntersection([
        [0, 0],
        [4, 0],
        [4, 4],
        [2, 1],
        [0, 4],
      ]),
    ).toBeUndefined();
  });

  it('intersects closed segments', () => {
    expect(segmentsIntersect([0, 0], [2, 2], [0, 2], [2, 0])).toBe(true);
    expect(segmentsIntersect([0, 0], [1, 0], [1, 0], [1, 5])).toBe(true);
    expect(segmentsIntersect([0, 0], [1, 0], [2, 0], [3, 0])).toBe(false);
    expect(segmentsIntersect([0, 0], [1, 1], [0, 1], [0.4, 0.6])).toBe(false);
  });

  it('treats the image as the closed box [0, width] x [0, height]', () => {
    const size = { width: 512, height: 256 };
    expect(isInsideImage([0, 0], size)).toBe(true);
    expect(isInsideImage([512, 256], size)).toBe(true);
    expect(isInsideImage([512.01, 3], size)).toBe(false);
    expect(isInsideImage([3, -0.5], size)).toBe(false);
  });
});
