import { describe, expect, it } from 'vitest';
import { fillRotatedRect, minAreaRect } from '../../src/dragflow/min-area-rect.ts';
import type { Point } from '../../src/image/binary-mask.ts';
import { pixelsOf } from './helpers.ts';

describe('minAreaRect', () => {
  it('recovers a 10 x 5 rectangle turned by atan2(6, 8) from its corners and inner points', () => {
    const corners: Point[] = [
      { x: 0, y: 0 },
      { x: 8, y: 6 },
      { x: 5, y: 10 },
      { x: -3, y: 4 },
    ];
    const inner: Point[] = [
      { x: 2, y: 4 },
      { x: 4, y: 5 },
      { x: 1, y: 3 },
      { x: 4, y: 3 },
    ];
    const rect = minAreaRect([...inner, ...corners]);
    expect(rect.width * rect.height).toBeCloseTo(50, 10);
    expect(rect.width).toBeCloseTo(10, 10);
    expect(rect.height).toBeCloseTo(5, 10);
    expect(rect.angle).toBeCloseTo(Math.atan2(6, 8), 12);
    expect(rect.center.x).toBeCloseTo(2.5, 10);
    expect(rect.center.y).toBeCloseTo(5, 10);
  });

  it('encloses the triangle (0,0), (10,0), (3,2) by its base: area 20 at angle 0', () => {
    // Other edges give 600/13 and 1400/53, both larger.
    const rect = minAreaRect([
      { x: 3, y: 2 },
      { x: 0, y: 0 },
      { x: 10, y: 0 },
    ]);
    expect(rect.width).toBeCloseTo(10, 12);
    expect(rect.height).toBeCloseTo(2, 12);
    expect(rect.angle).toBeCloseTo(0, 12);
    expect(rect.center.x).toBeCloseTo(5, 12);
    expect(rect.center.y).toBeCloseTo(1, 12);
  });

  it('reports a quarter-turned rectangle with angle 0 and swapped sides', () => {
    const rect = minAreaRect([
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 2, y: 6 },
      { x: 0, y: 6 },
    ]);
    expect(rect.angle).toBeCloseTo(0, 12);
    expect([rect.width, rect.height]).toEqual([2, 6]);
  });

  it('degenerates to a segment for collinear points', () => {
    const rect = minAreaRect([
      { x: 1, y: 1 },
      { x: 4, y: 5 },
      { x: 7, y: 9 },
    ]);
    expect(rect.width * rect.height).toBe(0);
    expect(Math.max(rect.width, rect.height)).toBeCloseTo(10, 12);
    expect(() => minAreaRect([])).toThrow(RangeError);
  });
});

describe('fillRotatedRect', () => {
  it('fills pixel centres inside or on an axis-aligned rectangle', () => {
    const rect = minAreaRect([
      { x: 1, y: 1 },
      { x: 3, y: 1 },
      { x: 3, y: 2 },
      { x: 1, y: 2 },
    ]);
    expect(pixelsOf(fillRotatedRect(rect, 5, 4))).toEqual(['1,1', '2,1', '3,1', '1,2', '2,2', '3,2']);
  });

  it('fills the 13 pixel centres of a 45-degree square of half-diagonal 2', () => {
    const rect = minAreaRect([
      { x: 5, y: 3 },
      { x: 7, y: 5 },
      { x: 5, y: 7 },
      { x: 3, y: 5 },
    ]);
    expect(rect.angle).toBeCloseTo(Math.PI / 4, 12);
    const filled = pixelsOf(fillRotatedRect(rect, 10, 10));
    expect(filled).toHaveLength(13);
    for (const p of filled) {
      const [x, y] = p.split(',').map(Number);
      expect(Math.abs(x! - 5) + Math.abs(y! - 5)).toBeLessThanOrEqual(2);
    }
  });

  it('fills a single row for a degenerate rectangle and clips at the border', () => {
    const rect = minAreaRect([
      { x: -2, y: 1 },
      { x: 2, y: 1 },
    ]);
    expect(pixelsOf(fillRotatedRect(rect, 4, 3))).toEqual(['0,1', '1,1', '2,1']);
  });
});

describe('minAreaRect against an angle sweep', () => {
  it('is never beaten by any of 18000 sampled orientations and encloses every point', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 40; trial++) {
      const points: Point[] = Array.from({ length: 5 + Math.floor(random() * 40) }, () => ({
        x: Math.round(random() * 200),
        y: Math.round(random() * 120),
      }));
      const rect = minAreaRect(points);
      let sweptMin = Number.POSITIVE_INFINITY;
      for (let k = 0; k < 18000; k++) {
        const theta = (k / 18000) * (Math.PI / 2);
        const u = [Math.cos(theta), Math.sin(theta)] as const;
        const along = points.map((p) => p.x * u[0] + p.y * u[1]);
        const across = points.map((p) => -p.x * u[1] + p.y * u[0]);
        const area = (Math.max(...along) - Math.min(...along)) * (Math.max(...across) - Math.min(...across));
        sweptMin = Math.min(sweptMin, area);
      }
      const area = rect.width * rect.height;
      expect(area).toBeLessThanOrEqual(sweptMin + 1e-9);
      expect(area).toBeGreaterThan(sweptMin * (1 - 1e-3));
      const u = [Math.cos(rect.angle), Math.sin(rect.angle)] as const;
      for (const p of points) {
        const dx = p.x - rect.center.x;
        const dy = p.y - rect.center.y;
        expect(Math.abs(dx * u[0] + dy * u[1])).toBeLessThanOrEqual(rect.width / 2 + 1e-9);
        expect(Math.abs(-dx * u[1] + dy * u[0])).toBeLessThanOrEqual(rect.height / 2 + 1e-9);
      }
    }
  });
});
