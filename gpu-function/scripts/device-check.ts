/**
 * `npm run device:check`: prepares the device check for a machine with an NVIDIA GPU, Python and
 * torch (the machine this project is lent has no Node and a CPU-only onnxruntime; see
 * gpu-function/device-check/device_check.py for what that allows). Writes, into `--out` (default
 * .device-check/), the graphs a FLUX.1-dev edit at 512x512 opens on CUDA (editSessionPlan, device
 * cuda: the bfloat16 edit graph, the float32 VAE encoder and decoder) as JSON, the call counts of a
 * paper-preset edit, and the script; prints the command to run there. The CUDA placement check of
 * the same graphs runs here (npm run check:placement).
 *
 * `--self-test` instead runs device_check.py's interpreter on the CPU, on the tiny config's edit
 * graph (float32), against onnxruntime's outputs for the same weights and feeds (needs python3 with
 * torch, or $PYTHON naming one; the check itself does not run here).
 *
 *   npm run device:check [-- --out <dir>] [-- --config flux1-dev|tiny] [-- --self-test]
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveSettings } from '@dragflow/shared/presets';
import { modelConfig } from '../src/bundle/build.ts';
import { randomParameter } from '../src/bundle/random-weights.ts';
import { fluxCheckpointKeys } from '../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, autoEncoderDownscale, fluxConfigs } from '../src/flux/config.ts';
import { buildEditGraph } from '../src/flux/edit-graph.ts';
import { transformerFeeds } from '../src/flux/feeds.ts';
import { imagePositionIds, textPositionIds } from '../src/flux/rope.ts';
import type { TensorData } from '../src/graph/dtype.ts';
import { graphJson } from '../src/graph/graph-json.ts';
import { createSession, type Feeds } from '../src/graph/session.ts';
import { editSessionPlan } from '../src/pipeline/model.ts';
import { blockSettings } from '../src/pipeline/model-blocks.ts';
import { mulberry32 } from '../src/seeded-random.ts';
import { f16ToF32 } from '../src/weights/dtype.ts';

const SCRIPT = fileURLToPath(new URL('../device-check/device_check.py', import.meta.url));
const SELF_TEST = fileURLToPath(new URL('../device-check/self_test.py', import.meta.url));
const REGIONS = 1;
/** The check's model and image size; `--config tiny` makes a plan small enough for a CPU smoke run. */
const PLANS = {
  'flux1-dev': {
    transformer: fluxConfigs['flux1-dev'],
    autoencoder: autoEncoderConfigs['flux1-ae'],
    size: 512,
    textTokens: 512,
  },
  tiny: {
    transformer: fluxConfigs.tiny,
    autoencoder: autoEncoderConfigs['tiny-ae'],
    size: 16,
    textTokens: 8,
  },
} as const;

/** Transformer calls of a paper-preset edit (pipeline/metrics.ts counts the same kinds). */
function editCalls() {
  const s = resolveSettings({});
  const inversion = s.steps - s.skip_steps;
  return {
    capture: inversion + 1,
    features: 2,
    drag_step: s.transport_iterations + s.intensify_iterations,
    inject: 2 * inversion,
  };
}

async function prepare(out: string, model: keyof typeof PLANS): Promise<void> {
  const { transformer, autoencoder, size, textTokens } = PLANS[model];
  const pixelsPerToken = 2 * autoEncoderDownscale(autoencoder);
  const grid = { batch: 1, height: size / pixelsPerToken, width: size / pixelsPerToken, textTokens };
  const config = modelConfig(transformer, autoencoder, grid);
  const plan = editSessionPlan(
    config,
    { width: size, height: size },
    { regions: REGIONS, device: 'cuda', settings: blockSettings(resolveSettings({})) },
  );
  await mkdir(out, { recursive: true });
  const files: Record<string, string> = {};
  for (const [role, variant] of Object.entries(plan.variants)) {
    const file = `${variant.name}.json`;
    await writeFile(join(out, file), JSON.stringify(graphJson(variant.build(() => undefined, 'bfloat16'))));
    files[role === 'transformer' ? 'transformer' : variant.name] = file;
  }
  await writeFile(
    join(out, 'plan.json'),
    JSON.stringify({ model, size, regions: REGIONS, calls: editCalls(), ...files }, null, 2),
  );
  await copyFile(SCRIPT, join(out, 'device_check.py'));
  process.stdout.write(
    `device check prepared in ${out} (${Object.values(files).join(', ')}, plan.json, device_check.py)\n` +
      `on the GPU machine (carry ${out}): PYTHONUNBUFFERED=1 python3 ${join(out, 'device_check.py')} ${out}\n` +
      "it needs torch with CUDA; it does not run onnxruntime (see the script's doc).\n",
  );
}

type Named = Record<string, { data: TensorData; dims: readonly number[]; dtype: string }>;

/** `<name>.bin` (the tensors back to back) and `<name>.json` (name -> offset, length, dtype, shape). */
async function writeTensors(dir: string, name: string, tensors: Named): Promise<void> {
  const index: Record<string, [number, number, string, readonly number[]]> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [key, { data, dims, dtype }] of Object.entries(tensors)) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    index[key] = [offset, bytes.byteLength, dtype, dims];
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  await writeFile(join(dir, `${name}.bin`), Buffer.concat(chunks));
  await writeFile(join(dir, `${name}.json`), JSON.stringify(index));
}

/** The tiny edit graph (float32, random weights), onnxruntime's outputs per role, for self_test.py. */
async function selfTestArtifacts(dir: string): Promise<void> {
  const config = fluxConfigs.tiny;
  const grid = { batch: 1, height: 2, width: 3, textTokens: 4 };
  const kvBlocks = { double: [1], single: [0] };
  const weights = new Map(
    fluxCheckpointKeys(config).map((spec) => {
      const bytes = Buffer.concat([...randomParameter(5, spec.name, spec.shape, 'F32')]);
      return [spec.name, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)] as const;
    }),
  );
  const graph = buildEditGraph(config, {
    grid,
    image: { height: 32, width: 48 },
    regions: 2,
    kvBlocks,
    kvDtype: 'float16',
    weights: { source: (spec) => weights.get(spec.name) },
  });
  await writeFile(join(dir, 'graph.json'), JSON.stringify(graphJson(graph)));
  await writeTensors(
    dir,
    'params',
    Object.fromEntries(
      graph.initializers
        .filter((i) => i.kind === 'param')
        .map((i) => [
          i.stored.name,
          { data: weights.get(i.stored.name)!, dims: i.stored.shape, dtype: 'float32' },
        ]),
    ),
  );
  const uniform = mulberry32(9);
  const random = (n: number) => Float32Array.from({ length: n }, () => 2 * uniform() - 1);
  const tokens = grid.height * grid.width;
  const base = transformerFeeds(config, grid, {
    img: random(tokens * config.inChannels),
    imgIds: imagePositionIds(grid.height, grid.width),
    txt: random(grid.textTokens * config.contextInDim),
    txtIds: textPositionIds(grid.textTokens),
    timesteps: [0.4],
    y: random(config.vecInDim),
    guidance: [3.5],
  });
  const run = await createSession(graph);
  const shapeOf = new Map(graph.inputs.map((t) => [t.name, t] as const));
  const flag = (v: boolean) => Uint8Array.of(v ? 1 : 0);
  const one = (name: string) => ({ data: new Float32Array(1), dims: shapeOf.get(name)!.shape.map(() => 1) });
  const kvNames = graph.inputs.filter((t) => t.name.startsWith('kv_in.')).map((t) => t.name);
  const tokenKv = Object.fromEntries(
    kvNames.map((n) => {
      const [b, h, , d] = shapeOf.get(n)!.shape as [number, number, number, number];
      return [n, { data: new Uint16Array(b * h * d), dims: [b, h, 1, d] }] as const;
    }),
  );
  const supervisionPlaceholders = Object.fromEntries(
    ['warped_features', 'region_masks', 'region_weights'].map((n) => [n, one(n)] as const),
  );
  const roles: Record<string, Feeds> = {};
  const feedsFor = (velocity: boolean, drag: boolean, kv: Feeds | undefined, supervision: Feeds): Feeds => ({
    ...base,
    ...(kv ?? tokenKv),
    ...supervision,
    run_velocity: flag(velocity),
    run_drag_step: flag(drag),
    inject_kv: flag(kv !== undefined),
  });
  roles.capture = feedsFor(true, false, undefined, supervisionPlaceholders);
  const captured = await run(roles.capture);
  const kv = Object.fromEntries(kvNames.map((n) => [n, captured[n.replace('kv_in', 'kv_out')]!.data]));
  roles.inject = feedsFor(true, false, kv, supervisionPlaceholders);
  roles.features = feedsFor(false, false, kv, supervisionPlaceholders);
  const features = (await run(roles.features)).features!;
  const [, c, h, w] = features.dims as [number, number, number, number];
  roles.drag_step = feedsFor(false, true, kv, {
    warped_features: { data: random(2 * c * h * w), dims: [2, c, h, w] },
    region_masks: { data: Float32Array.from({ length: 2 * h * w }, (_, i) => i % 2), dims: [2, 1, h, w] },
    region_weights: { data: Float32Array.of(0.7, 0.3), dims: [2] },
  });
  const wanted: Record<string, string[]> = {
    capture: ['velocity', ...kvNames.map((n) => n.replace('kv_in', 'kv_out'))],
    inject: ['velocity'],
    features: ['features'],
    drag_step: ['loss', 'grad_img', 'features'],
  };
  for (const [role, feeds] of Object.entries(roles)) {
    const out = await run(feeds);
    await writeTensors(
      dir,
      `feeds.${role}`,
      Object.fromEntries(
        Object.entries(feeds).map(([n, f]) => {
          const { data, dims } = ArrayBuffer.isView(f) ? { data: f, dims: shapeOf.get(n)!.shape } : f;
          return [n, { data, dims, dtype: shapeOf.get(n)!.dtype }] as const;
        }),
      ),
    );
    await writeTensors(
      dir,
      `expected.${role}`,
      Object.fromEntries(
        wanted[role]!.map((n) => {
          const value = out[n]!;
          const data = value.data instanceof Uint16Array ? f16ToF32(value.data) : value.data;
          return [n, { data, dims: value.dims, dtype: 'float32' }] as const;
        }),
      ),
    );
  }
  await writeFile(join(dir, 'roles.json'), JSON.stringify(Object.keys(roles)));
}

async function selfTest(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dragflow-device-self-test-'));
  try {
    await selfTestArtifacts(work);
    // $PYTHON: an interpreter with torch (default python3).
    const result = spawnSync(process.env.PYTHON ?? 'python3', [SELF_TEST, work], { stdio: 'inherit' });
    if (result.status !== 0) process.exitCode = 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '.device-check' },
    config: { type: 'string', default: 'flux1-dev' },
    'self-test': { type: 'boolean', default: false },
  },
});
if (!(values.config in PLANS)) throw new Error(`--config must be one of ${Object.keys(PLANS).join(', ')}`);
await (values['self-test'] ? selfTest() : prepare(values.out, values.config as keyof typeof PLANS));
