/**
 * Host memory of a full-size edit's sessions (`npm run bench:memory`): builds a FLUX.1-dev bundle
 * from a synthetic bf16 checkpoint (real keys and shapes), then, each in a fresh process, (1) opens
 * every session an edit uses (pipeline/model.ts `editSessionPlan`: the one transformer session and
 * the VAE encoder and decoder) with the production options on the CPU provider and reports peak
 * resident memory, and (2) has onnxruntime write each session's optimised model
 * (optimizedModelFilePath) and sums the initializers it holds after optimisation, subgraphs
 * included. The optimised weights go to /dev/null (a symlink): only their sizes are read back.
 * Targets: initializer bytes <= 1.05 x the stored transformer + autoencoder bytes; peak RSS far
 * below the weights (they stay memory-mapped). Removes everything it wrote.
 *
 *   npm run bench:memory [-- --out <dir>] [-- --size 512]
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveSettings } from '@dragflow/shared/presets';
import * as ort from 'onnxruntime-node';
import { inspectBundle } from '../src/bundle/verify.ts';
import { modelInitializers, ONNX_TYPE_NAMES } from '../src/graph/model-initializers.ts';
import { EditModel, editSessionPlan, type ModelOptions } from '../src/pipeline/model.ts';
import { blockSettings } from '../src/pipeline/model-blocks.ts';
import { graphFile, runtimeGraphDir } from '../src/pipeline/runtime-graphs.ts';
import {
  buildSyntheticBundle,
  DISK_MARGIN_BYTES,
  freeBytes,
  gib,
  peakResidentBytes,
  syntheticCheckpoints,
} from './synthetic-flux.ts';

/** Initializer bytes across sessions may exceed the stored weights by this factor at most. */
const INITIALIZER_TARGET = 1.05;
/** Peak resident memory while the sessions are open must stay below this share of the weights. */
const RSS_TARGET = 0.1;

interface SessionInitializers {
  name: string;
  count: number;
  bytes: number;
  byType: Record<string, number>;
}

function modelOptions(): ModelOptions {
  return { regions: 1, settings: blockSettings(resolveSettings({})) };
}

async function openedManifest(bundle: string) {
  const report = await inspectBundle(bundle, { depth: 'sizes' });
  if (!report.manifest || report.problems.length)
    throw new Error(`bundle ${bundle}: ${report.problems.join('; ')}`);
  return report.manifest;
}

/** Child (1): every session of an edit, open at once; prints peak RSS as JSON. */
async function openSessions(bundle: string, size: number): Promise<void> {
  const manifest = await openedManifest(bundle);
  const model = await EditModel.open(bundle, manifest, { width: size, height: size }, modelOptions());
  process.stdout.write(`${JSON.stringify({ peakRss: peakResidentBytes() })}\n`);
  await model.release();
}

/** Child (2): each session's optimised model, written by onnxruntime; prints its initializers as JSON. */
async function optimizedInitializers(bundle: string, size: number, out: string): Promise<void> {
  const manifest = await openedManifest(bundle);
  const plan = editSessionPlan(manifest.config, { width: size, height: size }, modelOptions());
  const dir = await runtimeGraphDir(bundle, manifest);
  const sessions: SessionInitializers[] = [];
  for (const variant of Object.values(plan.variants)) {
    const model = join(out, `${variant.name}.onnx`);
    const weights = `${variant.name}.weights`;
    await symlink('/dev/null', join(out, weights));
    const session = await ort.InferenceSession.create(await graphFile(dir, manifest, variant), {
      ...plan.sessionOptions,
      optimizedModelFilePath: model,
      extra: {
        ...plan.sessionOptions.extra,
        session: {
          optimized_model_external_initializers_file_name: weights,
          optimized_model_external_initializers_min_size_in_bytes: '1024',
        },
      },
    });
    await session.release();
    const initializers = modelInitializers(new Uint8Array(await readFile(model)));
    const byType: Record<string, number> = {};
    for (const i of initializers) {
      const type = ONNX_TYPE_NAMES[i.dataType] ?? String(i.dataType);
      byType[type] = (byType[type] ?? 0) + i.bytes;
    }
    const bytes = initializers.reduce((sum, i) => sum + i.bytes, 0);
    sessions.push({ name: variant.name, count: initializers.length, bytes, byType });
  }
  process.stdout.write(`${JSON.stringify({ sessions, peakRss: peakResidentBytes() })}\n`);
}

/** Runs this file again in a fresh process (its own peak RSS) and returns its JSON line. */
function child<T>(args: string[], cache: string): T {
  const result = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    env: { ...process.env, DRAGFLOW_CACHE: cache },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`bench:memory ${args[0]} failed:\n${result.stderr}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      size: { type: 'string', default: '512' },
      child: { type: 'string' },
      bundle: { type: 'string' },
      optimized: { type: 'string' },
    },
  });
  const size = Number(values.size);
  if (values.child === 'open') return openSessions(values.bundle!, size);
  if (values.child === 'optimized') return optimizedInitializers(values.bundle!, size, values.optimized!);

  const checkpoints = syntheticCheckpoints();
  const parent = values.out ?? tmpdir();
  const free = await freeBytes(parent);
  if (free < checkpoints.bundleBytes + DISK_MARGIN_BYTES) {
    throw new Error(
      `bench:memory needs ${gib(checkpoints.bundleBytes + DISK_MARGIN_BYTES)} free in ${parent} (has ${gib(free)}); pass --out <dir>`,
    );
  }
  const work = await mkdtemp(join(parent, 'dragflow-memory-'));
  const bundle = join(work, 'flux1-dev');
  const cache = join(work, 'cache');
  const optimized = join(work, 'optimized');
  try {
    const started = performance.now();
    const { body } = await buildSyntheticBundle(checkpoints, bundle);
    const stored = body.weight_files.reduce((sum, f) => sum + f.bytes, 0);
    const weightFiles = body.weight_files.map((f) => `${f.path} ${gib(f.bytes)}`).join(', ');
    process.stdout.write(
      `synthetic flux1-dev bundle (bf16): ${weightFiles} = ${gib(stored)} stored, built in ` +
        `${((performance.now() - started) / 1000).toFixed(0)} s; edit at ${size}x${size}, CPU provider, production options\n`,
    );

    const opened = child<{ peakRss: number }>(
      ['--child', 'open', '--bundle', bundle, '--size', String(size)],
      cache,
    );
    await mkdir(optimized);
    const written = child<{ sessions: SessionInitializers[]; peakRss: number }>(
      ['--child', 'optimized', '--bundle', bundle, '--size', String(size), '--optimized', optimized],
      cache,
    );
    const total = written.sessions.reduce((sum, s) => sum + s.bytes, 0);
    for (const s of written.sessions) {
      const types = Object.entries(s.byType)
        .map(([type, bytes]) => `${type} ${gib(bytes)}`)
        .join(', ');
      process.stdout.write(`  session ${s.name}: ${s.count} initializers, ${gib(s.bytes)} (${types})\n`);
    }
    const ratio = total / stored;
    const rssShare = opened.peakRss / stored;
    process.stdout.write(
      `initializer bytes across sessions after optimisation: ${gib(total)} = ${ratio.toFixed(4)} x stored ` +
        `(target <= ${INITIALIZER_TARGET}) ${ratio <= INITIALIZER_TARGET ? 'PASS' : 'FAIL'}\n` +
        `peak RSS with every session open: ${gib(opened.peakRss)} = ${(100 * rssShare).toFixed(1)}% of the weights ` +
        `(target < ${100 * RSS_TARGET}%) ${rssShare < RSS_TARGET ? 'PASS' : 'FAIL'}\n` +
        `(writing the optimised models reads every weight page: that process peaked at ${gib(written.peakRss)})\n`,
    );
    if (ratio > INITIALIZER_TARGET || rssShare >= RSS_TARGET) process.exitCode = 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
