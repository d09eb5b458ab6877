import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { recordedCompute } from '../flux/precision.ts';
import type { ExternalRef, Graph } from '../graph/graph.ts';
import { toModelBytes } from '../graph/serialize.ts';
import { type FloatDtype, safetensorsDtypeBytes } from '../weights/dtype.ts';
import { ExternalDataWriter } from '../weights/external-data.ts';
import type { CheckpointSource } from './checkpoint-source.ts';
import { BundleError } from './errors.ts';
import {
  BUNDLE_FORMAT_VERSION,
  type GraphEntry,
  IO_DTYPES,
  type Licence,
  MANIFEST_FILE,
  type ManifestBody,
  type StorageDtype,
  serializeManifest,
  type TensorSpec,
  type WeightFileEntry,
} from './manifest.ts';
import type { BundleConfig, TextEncodersEntry } from './model-config.ts';
import { sha256File } from './verify.ts';

const SAFETENSORS_DTYPE: Readonly<Record<StorageDtype, FloatDtype>> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
};

/** Looks a weight up by its checkpoint name; undefined for a name the bundle does not hold. */
export type WeightLookup = (name: string) => ExternalRef | undefined;

export interface GraphPlan {
  /** Manifest name; the file is `<name>.onnx`. */
  name: string;
  /** Builds the graph with its params bound to the bundle's weight files, stored as `stored`. */
  build(weights: WeightLookup, stored: StorageDtype): Graph;
}

/** Everything a bundle is made of; `writeBundle` streams it to disk and writes the manifest last. */
export interface BundlePlan {
  model: string;
  config: BundleConfig;
  storage: StorageDtype;
  /** One external-data file per source, named e.g. "transformer.weights". */
  weights: { file: string; source: CheckpointSource }[];
  graphs: GraphPlan[];
  licence: Licence;
  /** For 'checkpoint', the source files' sizes and sha256 are filled in from the streamed bytes. */
  origin: { kind: 'checkpoint' } | Exclude<ManifestBody['source'], { kind: 'checkpoint' }>;
  generative_prior: boolean;
  notice?: string;
  /** The prompt encoders' manifest entry; their graphs are in `graphs`, their weights in `weights`. */
  textEncoders?: TextEncodersEntry;
  /** Files copied into the bundle as they are (tokenizer files): bundle path and where to read it. */
  copies?: { path: string; from: string }[];
}

export interface WriteOptions {
  /**
   * Count and hash the weight files without writing them (full-size build checks on small disks).
   * The result is then not a loadable bundle: only the graphs and manifest are written.
   */
  discardWeights?: boolean;
  onTensor?: (file: string, name: string, bytes: number) => void;
}

export interface WriteResult {
  body: ManifestBody;
  /** Weight bytes streamed through (written or discarded). */
  weightBytes: number;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function specOf(name: string, tensor: { dtype: string; shape: readonly number[] }): TensorSpec {
  const dtype = IO_DTYPES.find((d) => d === tensor.dtype);
  if (dtype === undefined)
    throw new Error(`graph I/O '${name}' has dtype ${tensor.dtype}, which bundles do not carry`);
  return { name, dtype, shape: [...tensor.shape] };
}

async function refuseExisting(out: string): Promise<void> {
  const existing = await stat(out).catch(() => null);
  if (existing === null) return;
  if (!existing.isDirectory() || (await readdir(out)).length > 0) {
    throw BundleError.of(
      'bundle_out_exists',
      '.',
      `${out} already exists and is not an empty folder; choose a new --out`,
    );
  }
  await rm(out, { recursive: true });
}

async function writeWeights(
  dir: string,
  plan: BundlePlan,
  options: WriteOptions,
): Promise<{ entries: WeightFileEntry[]; refs: Map<string, ExternalRef>; files: ManifestBody['files'] }> {
  const storeAs = SAFETENSORS_DTYPE[plan.storage];
  const entries: WeightFileEntry[] = [];
  const refs = new Map<string, ExternalRef>();
  const files: ManifestBody['files'] = {};
  for (const { file, source } of plan.weights) {
    const writer = options.discardWeights
      ? await ExternalDataWriter.discarding(file)
      : await ExternalDataWriter.open(join(dir, file));
    const tensors: WeightFileEntry['tensors'] = [];
    try {
      for (const tensor of source.tensors) {
        const expectedBytes =
          (tensor.bytes / safetensorsDtypeBytes[tensor.dtype]) * safetensorsDtypeBytes[storeAs];
        const ref = await writer.append(source.chunks(tensor.name), {
          name: tensor.name,
          from: tensor.dtype,
          storeAs,
          expectedBytes,
        });
        if (refs.has(tensor.name)) throw new Error(`weight '${tensor.name}' appears in two weight files`);
        refs.set(tensor.name, ref);
        tensors.push({
          name: tensor.name,
          dtype: plan.storage,
          shape: [...tensor.shape],
          offset: ref.offset,
          length: ref.length,
        });
        options.onTensor?.(file, tensor.name, ref.length);
      }
    } catch (error) {
      await writer.abort();
      throw error;
    }
    const { bytes, sha256: hash } = await writer.finish();
    entries.push({ path: file, bytes, tensors });
    files[file] = { sha256: hash, bytes };
  }
  return { entries, refs, files };
}

/**
 * Writes a bundle into `out` (which must not exist or be empty): weights streamed tensor by tensor
 * into external-data files (memory stays at a few chunks whatever the model size), then the graphs
 * bound to them, then manifest.json with every file's size and sha256. Everything is written into a
 * sibling `.partial` folder that is renamed onto `out` only when complete.
 */
export async function writeBundle(
  out: string,
  plan: BundlePlan,
  options: WriteOptions = {},
): Promise<WriteResult> {
  // Resolved, so "out/" gets its partial folder beside it, not inside it.
  const target = resolve(out);
  try {
    await refuseExisting(target);
    return await writeInto(`${target}.partial-${process.pid}`, target, plan, options);
  } finally {
    for (const { source } of plan.weights) await source.close();
  }
}

async function writeInto(
  partial: string,
  out: string,
  plan: BundlePlan,
  options: WriteOptions,
): Promise<WriteResult> {
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    const { entries, refs, files } = await writeWeights(partial, plan, options);
    for (const copy of plan.copies ?? []) {
      const target = join(partial, copy.path);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(copy.from, target);
      files[copy.path] = { sha256: await sha256File(target), bytes: (await stat(target)).size };
    }
    const graphs: GraphEntry[] = [];
    for (const graphPlan of plan.graphs) {
      const graph = graphPlan.build((name) => refs.get(name), plan.storage);
      const bytes = toModelBytes(graph);
      const file = `${graphPlan.name}.onnx`;
      await writeFile(join(partial, file), bytes);
      files[file] = { sha256: sha256(bytes), bytes: bytes.byteLength };
      const locations = new Set(graph.initializers.flatMap((i) => (isRef(i.data) ? [i.data.location] : [])));
      graphs.push({
        name: graphPlan.name,
        file,
        inputs: graph.inputs.map((t) => specOf(t.name, t)),
        outputs: graph.outputs.map((o) => specOf(o.name, o.tensor)),
        weight_files: entries.filter((e) => locations.has(e.path)).map((e) => e.path),
        compute: recordedCompute(graph),
      });
    }
    const source: ManifestBody['source'] =
      plan.origin.kind === 'checkpoint'
        ? {
            kind: 'checkpoint',
            weights: (await Promise.all(plan.weights.map(({ source: s }) => s.digests()))).flat(),
          }
        : plan.origin;
    const body: ManifestBody = {
      format_version: BUNDLE_FORMAT_VERSION,
      family: 'flux1',
      model: plan.model,
      config: plan.config,
      precision: { storage: plan.storage },
      graphs,
      weight_files: entries,
      licence: plan.licence,
      source,
      generative_prior: plan.generative_prior,
      ...(plan.textEncoders === undefined ? {} : { text_encoders: plan.textEncoders }),
      ...(plan.notice === undefined ? {} : { notice: plan.notice }),
      files,
    };
    await writeFile(join(partial, MANIFEST_FILE), serializeManifest(body));
    await mkdir(dirname(out), { recursive: true });
    await rename(partial, out).catch((error: NodeJS.ErrnoException) => {
      // Another writer finished the same folder first.
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') {
        throw BundleError.of('bundle_out_exists', '.', `${out} appeared while this bundle was being written`);
      }
      throw error;
    });
    return { body, weightBytes: entries.reduce((sum, e) => sum + e.bytes, 0) };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

function isRef(data: unknown): data is ExternalRef {
  return typeof data === 'object' && data !== null && 'location' in data;
}
