import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, OPTION_RANGES, resolveLimits } from '../src/limits.ts';

describe('limits', () => {
  it('documents these defaults', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxOperations: 8,
      maxDrags: 16,
      maxPolygonsPerRegion: 8,
      maxPolygonVertices: 512,
      maxImageSide: 2048,
      minImageSide: 64,
      maxImagePixels: 2_097_152,
      maxImageBytes: 20_971_520,
      maxUrlLength: 2048,
      maxUploadIdLength: 128,
      maxPromptLength: 2000,
      maxMetadataBytes: 4096,
    });
  });

  it('merges overrides and keeps the defaults frozen', () => {
    expect(resolveLimits({ maxOperations: 2 }).maxOperations).toBe(2);
    expect(resolveLimits({ maxOperations: 2 }).maxDrags).toBe(16);
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it('refuses limits no request could meet', () => {
    expect(() => resolveLimits({ maxOperations: 0 })).toThrow(
      'limit maxOperations must be a positive integer, got 0',
    );
    expect(() => resolveLimits({ maxImageBytes: 1.5 })).toThrow(
      'limit maxImageBytes must be a positive integer, got 1.5',
    );
    expect(() => resolveLimits({ minImageSide: 4096 })).toThrow(
      'limit minImageSide (4096) exceeds maxImageSide (2048)',
    );
  });

  it('has ranges that contain the paper values', () => {
    expect(OPTION_RANGES.steps.min <= 25 && 25 <= OPTION_RANGES.steps.max).toBe(true);
    expect(OPTION_RANGES.doubleBlock).toEqual({ min: 0, max: 18 });
    expect(OPTION_RANGES.singleBlock).toEqual({ min: 0, max: 37 });
  });
});
