/**
 * A bundle downloaded at setup from a base URL (`--bundle-url`): manifest.json first, its sha256
 * compared with the one the operator pinned (`--bundle-sha256`), then every file the manifest
 * lists, streamed to disk, and the folder verified against the manifest's own sha256s. One pinned
 * hash therefore covers every byte. The download goes to a sibling folder that replaces the
 * target only once verified; a target already holding that exact manifest and intact files is
 * used as it is (a restarted container does not download again).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BundleError } from '../bundle/errors.ts';
import { MANIFEST_FILE, MANIFEST_LIMITS, type Manifest, parseManifest } from '../bundle/manifest.ts';
import { verifyBundle } from '../bundle/verify.ts';
import { OutboundError, openOutbound, redactUrl, sendOutbound } from './outbound.ts';

/** Longest silence allowed while a file streams (multi-GB weight files get no total deadline). */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;

export interface BundleDownload {
  url: string;
  sha256: string;
  dir: string;
  allowLoopback: boolean;
  log: (line: string) => void;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function failed(file: string, url: URL, reason: string): BundleError {
  return BundleError.of('bundle_download_failed', file, `${file}: GET ${redactUrl(url)} ${reason}`);
}

async function fetchManifest(base: string, options: BundleDownload): Promise<Buffer> {
  const url = new URL(MANIFEST_FILE, base);
  try {
    const answer = await sendOutbound({
      method: 'GET',
      url,
      allowLoopback: options.allowLoopback,
      idleTimeoutMs: DOWNLOAD_IDLE_TIMEOUT_MS,
      maxBytes: MANIFEST_LIMITS.manifestBytes,
    });
    if (answer.status !== 200) throw failed(MANIFEST_FILE, url, `answered HTTP ${answer.status}`);
    return Buffer.from(answer.body);
  } catch (error) {
    if (error instanceof OutboundError) throw failed(MANIFEST_FILE, url, `failed: ${error.message}`);
    throw error;
  }
}

async function fetchFile(base: string, path: string, bytes: number, to: string, options: BundleDownload) {
  const url = new URL(path, base);
  try {
    const answer = await openOutbound({
      method: 'GET',
      url,
      allowLoopback: options.allowLoopback,
      idleTimeoutMs: DOWNLOAD_IDLE_TIMEOUT_MS,
    });
    if (answer.status !== 200) {
      answer.body.destroy();
      throw failed(path, url, `answered HTTP ${answer.status}`);
    }
    await mkdir(dirname(to), { recursive: true });
    let received = 0;
    // Stops a server that sends more than the manifest says (verification would refuse it anyway).
    answer.body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > bytes)
        answer.body.destroy(new OutboundError('too_large', `sent more than ${bytes} bytes`));
    });
    await pipeline(answer.body, createWriteStream(to));
  } catch (error) {
    if (error instanceof OutboundError) throw failed(path, url, `failed: ${error.message}`);
    throw error;
  }
}

/** Downloads (or reuses) the bundle and returns its verified manifest. */
export async function downloadBundle(options: BundleDownload): Promise<Manifest> {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const present = await readFile(join(options.dir, MANIFEST_FILE)).catch(() => null);
  if (present && sha256(present) === options.sha256) {
    const manifest = await verifyBundle(options.dir, { depth: 'full' }).catch(() => null);
    if (manifest) {
      options.log(`bundle ${options.dir}: already downloaded and intact`);
      return manifest;
    }
  }
  const manifestBytes = await fetchManifest(base, options);
  const actual = sha256(manifestBytes);
  if (actual !== options.sha256) {
    throw BundleError.of(
      'bundle_hash_mismatch',
      MANIFEST_FILE,
      `manifest.json from ${redactUrl(base)} has sha256 ${actual}, not the pinned ${options.sha256}`,
    );
  }
  const manifest = parseManifest(manifestBytes);
  const partial = `${options.dir}.download-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await writeFile(join(partial, MANIFEST_FILE), manifestBytes);
    const files = Object.entries(manifest.files);
    let total = 0;
    for (const [path, entry] of files) {
      await fetchFile(base, path, entry.bytes, join(partial, path), options);
      total += entry.bytes;
    }
    options.log(`bundle: downloaded ${files.length} files, ${total} bytes from ${redactUrl(base)}`);
    await verifyBundle(partial, { depth: 'full' });
    await rm(options.dir, { recursive: true, force: true });
    await rename(partial, options.dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  return manifest;
}
