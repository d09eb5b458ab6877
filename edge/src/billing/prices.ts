/**
 * The price of an edit in credits, fixed when it is submitted (edge/README.md shows the table).
 * It grows with the image's pixel count (GPU memory and time grow with tokens) and with the
 * work the options ask for, measured in transformer passes relative to the default preset.
 */
import { type EditOptions, resolveSettings, type Settings } from '@dragflow/shared';

export interface PriceTier {
  /** Largest width x height the tier covers. */
  readonly maxPixels: number;
  readonly credits: number;
}

export const PRICE_TIERS: readonly PriceTier[] = [
  { maxPixels: 512 * 512, credits: 10 },
  { maxPixels: 1024 * 1024, credits: 25 },
  { maxPixels: 2048 * 1024, credits: 50 },
];

/** Transformer passes of an edit: inversion and sampling each run steps - skip_steps; plus drag iterations. */
export function workUnits(settings: Settings): number {
  return (
    2 * (settings.steps - settings.skip_steps) + settings.transport_iterations + settings.intensify_iterations
  );
}

/** Work of the default preset (paper: 2 x 19 + 50 + 20 = 108 passes), the unit of the multiplier. */
export const BASE_WORK_UNITS = workUnits(resolveSettings());

export interface Price {
  readonly credits: number;
  readonly tierCredits: number;
  readonly workMultiplier: number;
}

export function priceOf(size: { width: number; height: number }, options: EditOptions | undefined): Price {
  const pixels = size.width * size.height;
  const tier = PRICE_TIERS.find((candidate) => pixels <= candidate.maxPixels) ?? PRICE_TIERS.at(-1)!;
  const workMultiplier = Math.max(1, Math.ceil(workUnits(resolveSettings(options)) / BASE_WORK_UNITS));
  return { credits: tier.credits * workMultiplier, tierCredits: tier.credits, workMultiplier };
}
