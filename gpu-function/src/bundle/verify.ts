import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError, type BundleProblem } from './errors.ts';
import { MANIFEST_FILE, MANIFEST_LIMITS, type Manifest, parseManifest } from './manifest.ts';

/** Bytes read per chunk while hashing: large enough for disk throughput, small enough to keep memory flat. */
const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

export interface VerifyOptions {
  /**
   * 'full' (default) hashes every file; 'sizes' checks presence and byte counts only, for a quick
   * start when the same files were fully verified before.
   */
  depth?: 'full' | 'sizes';
  /** Called after each file is checked, e.g. to print progress on multi-GB bundles. */
  onFile?: (path: string, bytes: number) => void;
}

export interface VerifyReport {
  /** The parsed manifest, or null when manifest.json itself is unusable. */
  manifest: Manifest | null;
  /** Empty when the bundle is intact. */
  problems: BundleProblem[];
  /** Bytes hashed, for progress and benchmarks. */
  bytesHashed: number;
}

/** Streams a file through sha256 in fixed-size chunks; memory stays at one chunk whatever the file size. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: HASH_CHUNK_BYTES })) hash.update(chunk);
  return hash.digest('hex');
}

/** Every entry below `dir` as a bundle-relative POSIX path, with what kind of entry it is. */
async function listEntries(dir: string, prefix = ''): Promise<{ path: string; kind: 'file' | 'other' }[]> {
  const entries: { path: string; kind: 'file' | 'other' }[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) entries.push(...(await listEntries(dir, path)));
    else entries.push({ path, kind: entry.isFile() ? 'file' : 'other' });
    // A runaway folder is reported once the limit is passed rather than walked to the end.
    if (entries.length > MANIFEST_LIMITS.files + 1) break;
  }
  return entries;
}

async function readManifest(dir: string): Promise<Manifest> {
  // The folder itself may be a link (e.g. to a cache); the files inside it may not.
  const folder = await stat(dir).catch(() => null);
  if (!folder?.isDirectory()) {
    throw BundleError.of(
      'bundle_not_found',
      '.',
      `${dir} is not a bundle directory (it does not exist or is not a folder)`,
    );
  }
  const path = join(dir, MANIFEST_FILE);
  const manifestStat = await lstat(path).catch(() => null);
  if (!manifestStat?.isFile()) {
    throw BundleError.of('bundle_manifest_invalid', MANIFEST_FILE, `manifest.json is missing from ${dir}`);
  }
  if (manifestStat.size > MANIFEST_LIMITS.manifestBytes) {
    throw BundleError.of(
      'bundle_manifest_invalid',
      MANIFEST_FILE,
      `manifest.json: ${manifestStat.size} bytes, more than the ${MANIFEST_LIMITS.manifestBytes}-byte limit`,
    );
  }
  return parseManifest(await readFile(path));
}

/**
 * Checks a bundle folder against its manifest and reports every problem found: the manifest's own
 * integrity, format and schema, then each listed file's presence, size and sha256, and any file or
 * link the manifest does not list. It never throws for a bad bundle; see `verifyBundle` for that.
 */
export async function inspectBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    if (error instanceof BundleError)
      return { manifest: null, problems: [...error.problems], bytesHashed: 0 };
    throw error;
  }
  const problems: BundleProblem[] = [];
  const present = new Map((await listEntries(dir)).map((entry) => [entry.path, entry.kind]));
  present.delete(MANIFEST_FILE);
  let bytesHashed = 0;
  for (const [path, expected] of Object.entries(manifest.files)) {
    const kind = present.get(path);
    present.delete(path);
    if (kind === undefined) {
      problems.push({
        code: 'bundle_missing_file',
        file: path,
        message: `${path}: listed in the manifest but missing`,
      });
      continue;
    }
    if (kind === 'other') {
      problems.push({
        code: 'bundle_unexpected_file',
        file: path,
        message: `${path}: not a regular file (a link or special file); bundles hold plain files only`,
      });
      continue;
    }
    const { size } = await lstat(join(dir, path));
    if (size !== expected.bytes) {
      problems.push({
        code: 'bundle_size_mismatch',
        file: path,
        message: `${path}: ${size} bytes, the manifest says ${expected.bytes} (truncated or altered)`,
      });
      continue;
    }
    if (options.depth !== 'sizes') {
      const actual = await sha256File(join(dir, path));
      bytesHashed += size;
      if (actual !== expected.sha256) {
        problems.push({
          code: 'bundle_hash_mismatch',
          file: path,
          message: `${path}: sha256 ${actual} differs from the manifest's ${expected.sha256} (corrupted or replaced)`,
        });
      }
    }
    options.onFile?.(path, size);
  }
  for (const [path, kind] of present) {
    problems.push({
      code: 'bundle_unexpected_file',
      file: path,
      message: `${path}: ${kind === 'file' ? 'a file' : 'a link or special file'} the manifest does not list`,
    });
  }
  return { manifest, problems, bytesHashed };
}

/** `inspectBundle`, throwing a `BundleError` carrying every problem when the bundle is not intact. */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<Manifest> {
  const report = await inspectBundle(dir, options);
  if (report.manifest === null || report.problems.length > 0) throw new BundleError(report.problems);
  return report.manifest;
}
