/**
 * Which transformer blocks an edit taps and injects. Settings name FLUX.1 blocks (19 double, 38
 * single, as the paper does); a smaller model (demo, tiny) gets the nearest meaning, said in a note:
 * feature blocks count from the last double block (FLUX's 17 and 18 are its last two), K/V blocks
 * beyond the model's depth are dropped.
 */

import { OPTION_RANGES } from '@dragflow/shared/limits';
import { METHOD, type Settings } from '@dragflow/shared/presets';
import type { FluxConfig } from '../flux/config.ts';
import type { FeatureTap } from '../flux/features.ts';
import type { BlockSelection } from '../flux/transformer.ts';

const FLUX_DOUBLE_BLOCKS = OPTION_RANGES.doubleBlock.max + 1;
const FLUX_SINGLE_BLOCKS = OPTION_RANGES.singleBlock.max + 1;

export interface ModelBlocks {
  taps: FeatureTap[];
  kv: BlockSelection;
  notes: string[];
}

export type BlockSettings = Pick<Settings, 'feature_blocks' | 'kv_double_blocks' | 'kv_single_blocks'>;

/** The settings that choose the model's blocks. */
export function blockSettings(settings: Settings): BlockSettings {
  const { feature_blocks, kv_double_blocks, kv_single_blocks } = settings;
  return { feature_blocks, kv_double_blocks, kv_single_blocks };
}

export function modelBlocks(config: FluxConfig, settings: BlockSettings): ModelBlocks {
  const notes: string[] = [];
  const fromEnd = FLUX_DOUBLE_BLOCKS - config.depth;
  const featureBlocks = [...new Set(settings.feature_blocks.map((b) => b - fromEnd).filter((b) => b >= 0))];
  if (featureBlocks.length === 0) featureBlocks.push(config.depth - 1);
  const kv = {
    double: settings.kv_double_blocks.filter((b) => b < config.depth),
    single: settings.kv_single_blocks.filter((b) => b < config.depthSingleBlocks),
  };
  if (config.depth !== FLUX_DOUBLE_BLOCKS || config.depthSingleBlocks !== FLUX_SINGLE_BLOCKS) {
    notes.push(
      `model '${config.name}' has ${config.depth} double and ${config.depthSingleBlocks} single blocks: ` +
        `feature blocks [${settings.feature_blocks}] counted from the last block are [${featureBlocks}]; ` +
        `K/V injection keeps double [${kv.double}] and single [${kv.single}]`,
    );
  }
  const points = METHOD.featureTaps.map((tap): FeatureTap['point'] =>
    tap === 'attention_input' ? 'modulated' : 'output',
  );
  const taps = featureBlocks.flatMap((block) => points.map((point) => ({ block, point })));
  return { taps, kv, notes };
}
