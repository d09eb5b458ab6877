/**
 * The graphs one edit runs, built for the edit's token grid from the bundle's weight index (a
 * bundle ships graphs for one grid only; manifest.weight_files says where every weight lives).
 *
 * onnxruntime reads external weights only from inside the model file's folder (absolute paths and
 * links resolving elsewhere are refused), and a bundle folder may hold only its listed files. So the
 * runtime graphs live in a cache folder of their own, `<cache>/runtime-graphs/<manifest hash>/`, whose
 * weight files are hard links to the bundle's (a copy when the two are on different filesystems).
 * Graphs are built on every open (a fraction of a second: the weights stay in the bundle's files)
 * and a model file is named by the hash of its bytes, so a changed builder can never meet a stale file.
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { cacheRoot } from '../bundle/demo.ts';
import type { Manifest, StorageDtype } from '../bundle/manifest.ts';
import type { ExternalRef, Graph } from '../graph/graph.ts';
import { toModelBytes } from '../graph/serialize.ts';

/** Looks up a weight by its checkpoint name in the bundle's weight files. */
export type RuntimeWeightLookup = (name: string) => ExternalRef | undefined;

export interface GraphVariant {
  /** Short name for file names and messages, e.g. "velocity_capture". */
  name: string;
  build(weights: RuntimeWeightLookup, stored: StorageDtype): Graph;
}

export function weightLookup(manifest: Manifest): RuntimeWeightLookup {
  const refs = new Map<string, ExternalRef>();
  for (const file of manifest.weight_files) {
    for (const t of file.tensors)
      refs.set(t.name, { location: file.path, offset: t.offset, length: t.length });
  }
  return (name) => refs.get(name);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/** Hard-links (or copies) each weight file of the bundle into `dir`, once. */
async function linkWeights(bundleDir: string, manifest: Manifest, dir: string): Promise<void> {
  for (const { path, bytes } of manifest.weight_files) {
    const target = join(dir, path);
    const existing = await stat(target).catch(() => null);
    if (existing?.size === bytes) continue;
    const partial = `${target}.partial-${process.pid}`;
    await mkdir(join(target, '..'), { recursive: true });
    await link(join(bundleDir, path), partial).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EXDEV' && error.code !== 'EPERM') throw error;
      return copyFile(join(bundleDir, path), partial);
    });
    await rename(partial, target);
  }
}

/** The folder holding this bundle's runtime graphs, with its weight files in place. */
export async function runtimeGraphDir(
  bundleDir: string,
  manifest: Manifest,
  root = cacheRoot(),
): Promise<string> {
  const dir = join(root, 'runtime-graphs', manifest.manifest_sha256.slice(0, 16));
  await mkdir(dir, { recursive: true });
  await linkWeights(bundleDir, manifest, dir);
  return dir;
}

/** The model file of `variant` in `dir`, written unless a file with the same bytes is there. */
export async function graphFile(dir: string, manifest: Manifest, variant: GraphVariant): Promise<string> {
  const bytes = toModelBytes(variant.build(weightLookup(manifest), manifest.precision.storage));
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const file = join(dir, `${variant.name}-${id}.onnx`);
  if (await exists(file)) return file;
  const partial = `${file}.partial-${process.pid}`;
  await writeFile(partial, bytes);
  await rename(partial, file);
  return file;
}

/** A session over the variant's model file; `options` are the device's (device.ts). */
export async function openVariant(
  dir: string,
  manifest: Manifest,
  variant: GraphVariant,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(await graphFile(dir, manifest, variant), options);
}
