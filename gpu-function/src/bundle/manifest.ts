import { createHash } from 'node:crypto';
import { z } from 'zod';
import { COMPUTE_DTYPES } from '../flux/precision.ts';
import { BundleError } from './errors.ts';
import { bundleConfigSchema, textEncodersSchema } from './model-config.ts';

/**
 * The model bundle's `manifest.json`: what the bundle holds (family, model, config, graphs and their
 * I/O), how it is stored (precision), where it came from (source weights or seed), what it may be
 * used for (licence, generative prior) and the sha256 of every other file in the folder.
 *
 * The manifest protects itself: `manifest_sha256` is the sha256 of the manifest serialized without
 * that field, and the file must be byte-identical to its canonical serialization, so a flipped byte
 * anywhere in manifest.json is caught like one in any other file. This rule is the same in every
 * format version, so an intact manifest of a future version is reported as incompatible, not corrupt.
 */

export const MANIFEST_FILE = 'manifest.json';
/** 2: every graph entry records the dtype it computes in (`compute`; precision.compute is gone). */
export const BUNDLE_FORMAT_VERSION = 2;
export const SUPPORTED_FAMILIES = ['flux1'] as const;

/** Explicit limits on what a manifest may declare; a bundle beyond them is refused as invalid. */
export const MANIFEST_LIMITS = {
  manifestBytes: 16 * 1024 * 1024,
  files: 4096,
  pathLength: 255,
  graphs: 64,
  tensorsPerGraphIo: 64,
  tensorsPerWeightFile: 100_000,
  licenceTextChars: 256 * 1024,
} as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 (64 characters)');

const pathSegment = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
/** A bundle-relative POSIX path: no absolute paths, no `..`, no hidden files, nothing odd to a shell. */
const bundlePath = z
  .string()
  .min(1)
  .max(MANIFEST_LIMITS.pathLength)
  .refine((path) => path.split('/').every((segment) => pathSegment.test(segment)), {
    message: 'a relative path of [A-Za-z0-9._-] segments separated by "/", none starting with "." or "-"',
  });

const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lowercase letters, digits and "_"');

/** The tensor types a bundle graph may take or return (onnxruntime-node's names). */
export const IO_DTYPES = ['float32', 'float16', 'int64', 'int32', 'bool'] as const;

const tensorSpec = z.strictObject({
  name: z.string().min(1).max(256),
  dtype: z.enum(IO_DTYPES),
  /** Fixed sizes as numbers, free dimensions as their symbolic names (e.g. "tokens"). */
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1).max(64)])).max(8),
});
export type TensorSpec = z.infer<typeof tensorSpec>;

const graphEntry = z.strictObject({
  name,
  file: bundlePath,
  inputs: z.array(tensorSpec).min(1).max(MANIFEST_LIMITS.tensorsPerGraphIo),
  outputs: z.array(tensorSpec).min(1).max(MANIFEST_LIMITS.tensorsPerGraphIo),
  /** External-data files the graph reads its weights from (empty when the weights are inline). */
  weight_files: z.array(bundlePath),
  /** The dtype the graph computes in (also in the model's metadata_props, `dragflow.compute`). */
  compute: z.enum(COMPUTE_DTYPES),
});
export type GraphEntry = z.infer<typeof graphEntry>;

export const STORAGE_DTYPES = ['float32', 'float16', 'bfloat16'] as const;
export type StorageDtype = (typeof STORAGE_DTYPES)[number];
export const STORAGE_DTYPE_BYTES: Readonly<Record<StorageDtype, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
};

/** Where one weight lives, so a runtime can build graphs for other image sizes on the same files. */
const weightTensor = z.strictObject({
  name: z.string().min(1).max(512),
  dtype: z.enum(STORAGE_DTYPES),
  shape: z.array(z.number().int().nonnegative()).max(8),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
});

const weightFile = z.strictObject({
  path: bundlePath,
  bytes: z.number().int().nonnegative(),
  tensors: z.array(weightTensor).max(MANIFEST_LIMITS.tensorsPerWeightFile),
});
export type WeightFileEntry = z.infer<typeof weightFile>;

const licence = z
  .strictObject({
    /** SPDX identifier where one exists (e.g. "Apache-2.0"), otherwise the licence's own short name. */
    id: z.string().min(1).max(128),
    commercial_use: z.boolean(),
    url: z.url().optional(),
    text: z.string().min(1).max(MANIFEST_LIMITS.licenceTextChars).optional(),
  })
  .refine((l) => l.url !== undefined || l.text !== undefined, { message: 'a licence needs a url or a text' });
export type Licence = z.infer<typeof licence>;

const source = z.discriminatedUnion('kind', [
  /** Converted from released checkpoint files, each identified by its sha256. */
  z.strictObject({
    kind: z.literal('checkpoint'),
    weights: z
      .array(
        z.strictObject({
          file: z.string().min(1).max(255),
          bytes: z.number().int().nonnegative(),
          sha256: sha256Hex,
        }),
      )
      .min(1),
  }),
  /** Deterministic random weights for tests: the same generator and seed give the same bundle. */
  z.strictObject({
    kind: z.literal('random'),
    generator: z.string().min(1),
    seed: z.number().int().nonnegative(),
  }),
  /** Weights constructed by a rule rather than trained (the embedded demo bundle). */
  z.strictObject({ kind: z.literal('constructed'), recipe: z.string().min(1).max(4096) }),
]);

const fileEntry = z.strictObject({ sha256: sha256Hex, bytes: z.number().int().nonnegative() });

const manifestFields = {
  format_version: z.literal(BUNDLE_FORMAT_VERSION),
  family: z.string().min(1).max(64),
  /** The model's name within its family, e.g. "flux1-dev", "flux1-schnell", "tiny", "demo". */
  model: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  /** The transformer and autoencoder configs and the grid the graphs were built for. */
  config: bundleConfigSchema,
  precision: z.strictObject({
    /** The dtype the weights are stored in (each graph entry says what it computes in). */
    storage: z.enum(STORAGE_DTYPES),
  }),
  graphs: z.array(graphEntry).min(1).max(MANIFEST_LIMITS.graphs),
  weight_files: z.array(weightFile),
  licence,
  source,
  /** False for bundles whose weights were not trained on images (random and demo bundles). */
  generative_prior: z.boolean(),
  /**
   * The prompt encoders (T5 for `txt`, CLIP for `y`), their graphs, tokenizer files and licences.
   * Absent: the bundle has no text conditioning and says so in its edits' metrics.
   */
  text_encoders: textEncodersSchema.optional(),
  /** Plain words for people: what this bundle is and is not good for. Required without a prior. */
  notice: z.string().min(1).max(4096).optional(),
  /** Every file of the bundle except manifest.json itself, with its size and sha256. */
  files: z.record(bundlePath, fileEntry),
};

const manifestBody = z.strictObject(manifestFields).superRefine((m, ctx) => {
  const listed = new Set(Object.keys(m.files));
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (listed.size > MANIFEST_LIMITS.files) issue(['files'], `more than ${MANIFEST_LIMITS.files} files`);
  if (listed.has(MANIFEST_FILE)) issue(['files', MANIFEST_FILE], 'manifest.json cannot list itself');
  if (!m.generative_prior && m.notice === undefined) {
    issue(['notice'], 'a bundle without a generative prior must say so in a notice');
  }
  const graphNames = new Set<string>();
  m.graphs.forEach((graph, i) => {
    if (graphNames.has(graph.name)) issue(['graphs', i, 'name'], `duplicate graph name "${graph.name}"`);
    graphNames.add(graph.name);
    if (!listed.has(graph.file)) issue(['graphs', i, 'file'], `"${graph.file}" is not in files`);
    for (const weights of graph.weight_files) {
      if (!m.weight_files.some((w) => w.path === weights)) {
        issue(['graphs', i, 'weight_files'], `"${weights}" is not in weight_files`);
      }
    }
  });
  const text = m.text_encoders;
  if (text !== undefined) {
    for (const kind of ['t5', 'clip'] as const) {
      if (!graphNames.has(text[kind].graph)) {
        issue(['text_encoders', kind, 'graph'], `graph "${text[kind].graph}" is not in graphs`);
      }
    }
    text.tokenizer_files.forEach((file, i) => {
      if (!listed.has(file)) issue(['text_encoders', 'tokenizer_files', i], `"${file}" is not in files`);
    });
    if (text.t5.config.dModel !== m.config.transformer.contextInDim) {
      issue(
        ['text_encoders', 't5', 'config', 'dModel'],
        `${text.t5.config.dModel} differs from the transformer's contextInDim ${m.config.transformer.contextInDim}`,
      );
    }
    if (text.clip.config.hiddenSize !== m.config.transformer.vecInDim) {
      issue(
        ['text_encoders', 'clip', 'config', 'hiddenSize'],
        `${text.clip.config.hiddenSize} differs from the transformer's vecInDim ${m.config.transformer.vecInDim}`,
      );
    }
    if (text.t5.max_tokens !== m.config.graph_grid.textTokens) {
      issue(
        ['text_encoders', 't5', 'max_tokens'],
        `${text.t5.max_tokens} differs from graph_grid.textTokens ${m.config.graph_grid.textTokens}`,
      );
    }
  }
  m.weight_files.forEach((w, i) => {
    const entry = m.files[w.path];
    if (entry === undefined) issue(['weight_files', i, 'path'], `"${w.path}" is not in files`);
    else if (entry.bytes !== w.bytes)
      issue(['weight_files', i, 'bytes'], `differs from files["${w.path}"].bytes`);
    const names = new Set<string>();
    w.tensors.forEach((t, j) => {
      const where = ['weight_files', i, 'tensors', j];
      if (names.has(t.name)) issue(where, `duplicate tensor "${t.name}"`);
      names.add(t.name);
      const expected = t.shape.reduce((a, b) => a * b, STORAGE_DTYPE_BYTES[t.dtype]);
      if (t.length !== expected)
        issue(where, `"${t.name}": length ${t.length}, its dtype and shape need ${expected}`);
      if (t.offset + t.length > w.bytes) issue(where, `"${t.name}" ends past the end of "${w.path}"`);
    });
  });
});

export type ManifestBody = z.infer<typeof manifestBody>;
export type Manifest = ManifestBody & { manifest_sha256: string };

function selfHash(body: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify(body, null, 2))
    .digest('hex');
}

/** manifest.json's bytes for any JSON object body: the body plus its self-hash as the last field. */
export function sealManifest(body: Record<string, unknown>): string {
  return `${JSON.stringify({ ...body, manifest_sha256: selfHash(body) }, null, 2)}\n`;
}

/** The exact bytes of manifest.json for a schema-checked `body`. */
export function serializeManifest(body: ManifestBody): string {
  return sealManifest(manifestBody.parse(body));
}

/** `graphs[0].file: message`, one line per issue. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

function invalid(message: string): BundleError {
  return BundleError.of('bundle_manifest_invalid', MANIFEST_FILE, `manifest.json: ${message}`);
}

/**
 * Parses manifest.json's bytes. Order matters for the message: corruption first (self-hash), then
 * compatibility (format version, family), then the schema, so each failure names its real cause.
 */
export function parseManifest(bytes: Buffer): Manifest {
  if (bytes.length > MANIFEST_LIMITS.manifestBytes) {
    throw invalid(`${bytes.length} bytes, more than the ${MANIFEST_LIMITS.manifestBytes}-byte limit`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw invalid(`not valid JSON (${(error as Error).message}); the file is corrupted or not a manifest`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalid('not a JSON object');
  const { manifest_sha256: declaredHash, ...body } = parsed as Record<string, unknown>;
  if (typeof declaredHash !== 'string') {
    throw invalid('no manifest_sha256 field; the file is corrupted or was not written by dragflow');
  }
  // Byte equality with the canonical form catches changes JSON parsing would hide (spaces, key order, escapes).
  if (declaredHash !== selfHash(body) || !Buffer.from(sealManifest(body), 'utf8').equals(bytes)) {
    throw BundleError.of(
      'bundle_hash_mismatch',
      MANIFEST_FILE,
      'manifest.json: its content does not match its own manifest_sha256; the manifest is corrupted or was edited',
    );
  }
  if (body.format_version !== BUNDLE_FORMAT_VERSION) {
    throw BundleError.of(
      'bundle_incompatible',
      MANIFEST_FILE,
      `manifest.json: bundle format_version ${JSON.stringify(body.format_version)}; this dragflow reads format_version ${BUNDLE_FORMAT_VERSION}`,
    );
  }
  if (!(SUPPORTED_FAMILIES as readonly unknown[]).includes(body.family)) {
    throw BundleError.of(
      'bundle_incompatible',
      MANIFEST_FILE,
      `manifest.json: model family ${JSON.stringify(body.family)} is not one this dragflow runs (${SUPPORTED_FAMILIES.join(', ')})`,
    );
  }
  const result = manifestBody.safeParse(body);
  if (!result.success) throw invalid(result.error.issues.map(describeIssue).join('; '));
  return { ...result.data, manifest_sha256: declaredHash };
}
