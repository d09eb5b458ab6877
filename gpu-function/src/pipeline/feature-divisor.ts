/**
 * The size of the supervision feature maps, relative to the latent. The paper resizes FLUX.1's
 * features by s = 2, 3 or 4 (by image size, METHOD.featureDownscale): 3072 channels keep the latent
 * recoverable after that. A bundle whose model needs another size builds its own `features` graph
 * with it (the demo bundle: s = 1, bundle/demo.ts), so the manifest says which: the graph's output
 * map against its graph grid's latent. A bundle that follows the paper's rule there gets the
 * paper's rule at every image size.
 */
import { featureDownscale } from '@dragflow/shared/presets';
import type { Manifest } from '../bundle/manifest.ts';

/** 'paper', or a fixed divisor of the latent size. */
export type FeatureDivisor = 'paper' | number;

export function bundleFeatureDivisor(manifest: Manifest): FeatureDivisor {
  const output = manifest.graphs
    .find((g) => g.name === 'features')
    ?.outputs.find((o) => o.name === 'features');
  const mapHeight = output?.shape[2];
  if (typeof mapHeight !== 'number') return 'paper';
  const grid = manifest.config.graph_grid;
  const divisor = (2 * grid.height) / mapHeight;
  const paper = featureDownscale(16 * grid.width, 16 * grid.height);
  return divisor === paper ? 'paper' : divisor;
}
