/**
 * DragFlow's supervision features: image-stream activations of chosen double blocks, unpacked
 * from tokens to feature maps at latent size, concatenated along channels and bilinearly resized
 * (torch interpolate, align_corners=False) to the image size divided by s (featureMapSize).
 */
import { featureDownscale } from '@dragflow/shared/presets';
import type { Graph, Tensor } from '../graph/graph.ts';
import type { FluxConfig } from './config.ts';
import { FluxModelError } from './errors.ts';
import { castTo } from './precision.ts';
import {
  buildTrunk,
  outputCaptured,
  runDoubleBlocks,
  type Streams,
  type TransformerOptions,
} from './transformer.ts';

/** `modulated`: the image stream after norm1 modulation (attention input); `output`: the block output. */
export interface FeatureTap {
  readonly block: number;
  readonly point: 'modulated' | 'output';
}

/** DragFlow's default: both points of the last two double blocks (17 and 18 for FLUX.1-dev). */
export function defaultFeatureTaps(config: FluxConfig): FeatureTap[] {
  const last = config.depth - 1;
  return [last - 1, last].flatMap((block) => [
    { block, point: 'modulated' as const },
    { block, point: 'output' as const },
  ]);
}

export interface MapSize {
  readonly height: number;
  readonly width: number;
}

/**
 * Supervision map size for a working image, as the reference code computes it (dragger.py
 * cut_shape = full_shape // s): the image size in PIXELS divided by s (2, 3 or 4 by the mean
 * side, shared featureDownscale), floored. The unpacked maps are at the latent's size (1/8 of the
 * pixels for FLUX.1), so this upsamples them: 512x512 gives 256x256 maps from 64x64.
 */
export function featureMapSize(image: MapSize): MapSize {
  const s = featureDownscale(image.width, image.height);
  return { height: Math.floor(image.height / s), width: Math.floor(image.width / s) };
}

/**
 * Bytes of one float32 supervision map [taps * hidden/4, h, w]: FLUX.1 at 512x512 with the four
 * taps, 3072 x 256 x 256 x 4 = 805,306,368 (0.75 GiB). The drag step holds several such maps
 * (features, masked terms, their gradients) and the pipeline F0 and the targets.
 */
export function featureMapBytes(map: MapSize, taps: number, config: Pick<FluxConfig, 'hiddenSize'>): number {
  return taps * (config.hiddenSize / 4) * map.height * map.width * Float32Array.BYTES_PER_ELEMENT;
}

/** "b (h w) (c ph pw) -> b c (h ph) (w pw)" with ph = pw = 2. */
export function unpackTokens(g: Graph, x: Tensor, height: number, width: number): Tensor {
  const [b, , channels] = x.shape as [number, number, number];
  const c = channels / 4;
  const grid = g.reshape(x, [b, height, width, c, 2, 2]);
  return g.reshape(g.transpose(grid, [0, 3, 1, 4, 2, 5]), [b, c, 2 * height, 2 * width]);
}

export interface FeatureOptions extends TransformerOptions {
  /** Which activations, in concatenation order; default `defaultFeatureTaps`. */
  readonly taps?: readonly FeatureTap[];
  /** The image the token grid covers, in pixels (FLUX.1's autoencoder: 16 per token side). */
  readonly image: MapSize;
  /** Size of the resized maps; default `featureMapSize(image)`. */
  readonly mapSize?: MapSize;
}

/** The built trunk up to the last tapped block, and its taps. */
export interface SupervisionTrunk {
  readonly trunk: ReturnType<typeof buildTrunk>;
  /** Each tap in token form [B, L, hidden], compute dtype. */
  readonly taps: { readonly tap: FeatureTap; readonly tensor: Tensor }[];
  /** The streams after the last tapped block (`lastBlock`). */
  readonly streams: Streams;
  readonly lastBlock: number;
  /** The supervision map's size. */
  readonly mapSize: MapSize;
}

export function resolveTaps(
  config: FluxConfig,
  taps: readonly FeatureTap[] | undefined,
): readonly FeatureTap[] {
  const resolved = taps ?? defaultFeatureTaps(config);
  if (resolved.length === 0)
    throw new FluxModelError('invalid_block_selection', 'feature taps must not be empty');
  const seen = new Set<string>();
  for (const tap of resolved) {
    const key = `${tap.block}.${tap.point}`;
    if (seen.has(key))
      throw new FluxModelError('invalid_block_selection', `feature tap ${key} is listed twice`);
    seen.add(key);
    if (!Number.isInteger(tap.block) || tap.block < 0 || tap.block >= config.depth) {
      throw new FluxModelError(
        'invalid_block_selection',
        `feature tap block ${tap.block} is not a double block of '${config.name}' (0..${config.depth - 1})`,
      );
    }
  }
  return resolved;
}

/** Builds the trunk, stopping after the last tapped block (later blocks are never computed). */
export function buildSupervisionTrunk(
  graphName: string,
  config: FluxConfig,
  options: FeatureOptions,
): SupervisionTrunk {
  const taps = resolveTaps(config, options.taps);
  const { height, width } = options.grid;
  const { image } = options;
  if (image.height * width !== image.width * height || image.height % height !== 0) {
    throw new FluxModelError(
      'invalid_input_shape',
      `a ${image.width}x${image.height} image is not a whole number of pixels per token of the ${width}x${height} grid`,
    );
  }
  const mapSize = options.mapSize ?? featureMapSize(image);
  const trunk = buildTrunk(graphName, config, options);
  const last = Math.max(...taps.map((t) => t.block));
  const { taps: blockTaps, img, txt } = runDoubleBlocks(trunk, trunk, 0, last);
  const tapped = taps.map((tap) => ({ tap, tensor: blockTaps[tap.block]![tap.point] }));
  return { trunk, taps: tapped, streams: { img, txt }, lastBlock: last, mapSize };
}

/**
 * The supervision map [B, taps*hidden/4, h, w], float32 (supervision is compared and differentiated
 * in float32), built where it is called (the edit graph builds it only on runs that use it).
 */
export function supervisionMap(supervision: SupervisionTrunk): Tensor {
  const { trunk, mapSize: size } = supervision;
  const g = trunk.p.graph;
  const { batch, height, width } = trunk.grid;
  // Resizing is per channel, so one Resize of the concatenated maps equals the reference's resize of each.
  const unpacked = g.concat(
    supervision.taps.map(({ tensor }) => unpackTokens(g, castTo(g, tensor, 'float32'), height, width)),
    1,
  );
  const sameSize = size.height === 2 * height && size.width === 2 * width;
  return sameSize
    ? unpacked
    : g.resize(unpacked, [batch, unpacked.shape[1]!, size.height, size.width], 'linear');
}

export const featureNames = {
  features: 'features',
  tap: (tap: FeatureTap) => `feature.${tap.block}.${tap.point}`,
} as const;

/** Feature graph: the velocity inputs; outputs `features` and each tap in token form [B, L, hidden]. */
export function buildFeatureGraph(config: FluxConfig, options: FeatureOptions): Graph {
  const supervision = buildSupervisionTrunk(`${config.name}.features`, config, options);
  const { trunk, taps } = supervision;
  const g = trunk.p.graph;
  for (const { tap, tensor } of taps) g.output(featureNames.tap(tap), castTo(g, tensor, 'float32'));
  g.output(featureNames.features, supervisionMap(supervision));
  outputCaptured(trunk);
  return g;
}
