/**
 * Every limit the public edit contract enforces, in one place.
 *
 * A server may tighten or loosen the request-shape limits (`parseEditRequest(input, limits)`);
 * the defaults below are what the public API documents. Option ranges guard the pipeline from
 * values that cannot run (zero steps) or would run for hours (thousands of iterations).
 */

/** Inclusive numeric range. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface Limits {
  /** Region operations per request; each one costs a warp and a loss term per iteration. */
  readonly maxOperations: number;
  /** Handle/target pairs per request in point-drag mode. */
  readonly maxDrags: number;
  /** Separate polygons that together form one source region. */
  readonly maxPolygonsPerRegion: number;
  /** Vertices of one polygon (the self-intersection test is quadratic in this). */
  readonly maxPolygonVertices: number;
  /** Longest image side in pixels, checked once the image size is known. */
  readonly maxImageSide: number;
  /** Shortest image side in pixels: FLUX works on 16-pixel patches, and a side is floored to 16. */
  readonly minImageSide: number;
  /** Width x height in pixels; bounds GPU memory, which grows with the token count. */
  readonly maxImagePixels: number;
  /** Encoded image or mask size in bytes (uploads, fetched URLs, decoded data URIs). */
  readonly maxImageBytes: number;
  /** Length of an image or webhook URL in characters. */
  readonly maxUrlLength: number;
  /** Length of an upload id in characters. */
  readonly maxUploadIdLength: number;
  /** Length of each prompt in characters (T5 keeps the first 256 tokens anyway). */
  readonly maxPromptLength: number;
  /** Size of `metadata` serialised as JSON, in bytes (UTF-8). */
  readonly maxMetadataBytes: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxOperations: 8,
  maxDrags: 16,
  maxPolygonsPerRegion: 8,
  maxPolygonVertices: 512,
  maxImageSide: 2048,
  minImageSide: 64,
  maxImagePixels: 2048 * 1024,
  maxImageBytes: 20 * 1024 * 1024,
  maxUrlLength: 2048,
  maxUploadIdLength: 128,
  maxPromptLength: 2000,
  maxMetadataBytes: 4096,
});

/**
 * Ranges of the tunable options. They are fixed by what the pipeline can run, not by a
 * deployment, so they are constants rather than part of `Limits`.
 */
export const OPTION_RANGES = Object.freeze({
  /** Length of the shifted flow schedule (the paper uses 25). */
  steps: { min: 2, max: 100 },
  /** Schedule steps skipped before the edit timestep; must stay below `steps`. */
  skipSteps: { min: 0, max: 99 },
  transportIterations: { min: 0, max: 500 },
  intensifyIterations: { min: 0, max: 500 },
  /** Plain gradient-descent step sizes on the packed latent (the paper uses 1000-1200). */
  learningRate: { min: 0, max: 100_000 },
  adapterScale: { min: 0, max: 4 },
  guidance: { min: 0, max: 20 },
  /** Emit a preview every N iterations/steps; 0 turns previews off. */
  previewInterval: { min: 0, max: 1000 },
  /** Encoder quality for jpeg and webp output. */
  outputQuality: { min: 1, max: 100 },
  seed: { min: 0, max: 2 ** 32 - 1 },
  /** FLUX.1 has 19 double-stream and 38 single-stream blocks (0-based indices). */
  doubleBlock: { min: 0, max: 18 },
  singleBlock: { min: 0, max: 37 },
} satisfies Record<string, Range>);

/** Merges overrides into the defaults; rejects limits that could never accept a request. */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`limit ${name} must be a positive integer, got ${value}`);
    }
  }
  if (limits.minImageSide > limits.maxImageSide) {
    throw new RangeError(
      `limit minImageSide (${limits.minImageSide}) exceeds maxImageSide (${limits.maxImageSide})`,
    );
  }
  return Object.freeze(limits);
}
