import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BundleError, type BundleProblem } from './errors.ts';
import type { GraphEntry, Manifest, TensorSpec } from './manifest.ts';
import { type VerifyOptions, verifyBundle } from './verify.ts';

export interface LoadOptions {
  /** Names of the graphs to open (e.g. ["velocity", "vae_decoder"]); the others stay on disk. */
  graphs: readonly string[];
  /** How thoroughly to check the files first (default 'full': every sha256). */
  depth?: VerifyOptions['depth'];
  /** Model names the caller can run (e.g. ["flux1-dev", "flux1-schnell"]); any when absent. */
  models?: readonly string[];
  /** Refuse a bundle whose licence does not allow commercial use (a paid service sets this). */
  requireCommercialUse?: boolean;
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  sessions: ReadonlyMap<string, ort.InferenceSession>;
  /** Releases every session's native memory. */
  release(): Promise<void>;
}

function describe(spec: { name: string; dtype: string; shape: readonly (number | string)[] }): string {
  return `${spec.name}: ${spec.dtype}[${spec.shape.join(', ')}]`;
}

/** Differences between what the manifest declares and what the ONNX graph really takes or returns. */
function ioDifferences(
  kind: 'input' | 'output',
  declared: readonly TensorSpec[],
  actual: readonly ort.InferenceSession.ValueMetadata[],
): string[] {
  const differences: string[] = [];
  const declaredNames = declared.map((d) => d.name).join(', ');
  const actualNames = actual.map((a) => a.name).join(', ');
  if (declaredNames !== actualNames)
    return [`${kind}s are [${actualNames}], the manifest says [${declaredNames}]`];
  declared.forEach((spec, i) => {
    const meta = actual[i];
    if (meta === undefined || !meta.isTensor) {
      differences.push(`${kind} ${spec.name} is not a tensor`);
      return;
    }
    // Symbolic dimensions may be named differently by the exporter; only fixed sizes must agree.
    const sameShape =
      meta.shape.length === spec.shape.length &&
      spec.shape.every((dim, d) => typeof dim === 'string' || meta.shape[d] === dim);
    if (meta.type !== spec.dtype || !sameShape) {
      const found = describe({ name: meta.name, dtype: meta.type, shape: meta.shape });
      differences.push(`${kind} is ${found}, the manifest says ${describe(spec)}`);
    }
  });
  return differences;
}

async function openGraph(
  dir: string,
  graph: GraphEntry,
  options: ort.InferenceSession.SessionOptions | undefined,
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(join(dir, graph.file), options);
  } catch (error) {
    throw BundleError.of(
      'bundle_session_failed',
      graph.file,
      `${graph.file}: onnxruntime could not open graph "${graph.name}": ${(error as Error).message}`,
    );
  }
  const differences = [
    ...ioDifferences('input', graph.inputs, session.inputMetadata),
    ...ioDifferences('output', graph.outputs, session.outputMetadata),
  ];
  if (differences.length > 0) {
    await session.release();
    throw new BundleError(
      differences.map((difference) => ({
        code: 'bundle_graph_mismatch',
        file: graph.file,
        message: `${graph.file} (graph "${graph.name}"): ${difference}`,
      })),
    );
  }
  return session;
}

function refusals(manifest: Manifest, options: LoadOptions): BundleProblem[] {
  const problems: BundleProblem[] = [];
  if (options.models !== undefined && !options.models.includes(manifest.model)) {
    problems.push({
      code: 'bundle_incompatible',
      file: 'manifest.json',
      message: `bundle holds model "${manifest.model}"; this caller runs ${options.models.map((m) => `"${m}"`).join(', ')}`,
    });
  }
  if (options.requireCommercialUse && !manifest.licence.commercial_use) {
    problems.push({
      code: 'bundle_licence_forbids',
      file: 'manifest.json',
      message: `bundle licence "${manifest.licence.id}" does not allow commercial use, which this caller requires`,
    });
  }
  const available = manifest.graphs.map((g) => g.name);
  for (const name of options.graphs) {
    if (!available.includes(name)) {
      problems.push({
        code: 'bundle_graph_unknown',
        file: 'manifest.json',
        message: `bundle has no graph "${name}" (it has: ${available.join(', ')})`,
      });
    }
  }
  return problems;
}

/**
 * Opens a bundle for inference: verifies it, checks it is a model and licence the caller can use,
 * then creates one onnxruntime session per requested graph and checks each graph's inputs and
 * outputs against the manifest. Any refusal is a `BundleError` naming the file at fault.
 */
export async function loadBundle(dir: string, options: LoadOptions): Promise<LoadedBundle> {
  const manifest = await verifyBundle(dir, { depth: options.depth ?? 'full' });
  const problems = refusals(manifest, options);
  if (problems.length > 0) throw new BundleError(problems);
  const sessions = new Map<string, ort.InferenceSession>();
  const release = async () => {
    for (const session of sessions.values()) await session.release();
    sessions.clear();
  };
  try {
    for (const name of options.graphs) {
      const graph = manifest.graphs.find((g) => g.name === name)!;
      sessions.set(name, await openGraph(dir, graph, options.sessionOptions));
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { dir, manifest, sessions, release };
}
