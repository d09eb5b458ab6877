/** Downloading a bundle at setup: one pinned sha256 (manifest.json's) covers every file. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadBundle } from '../../src/server/bundle-download.ts';
import { FAKE_BUNDLE_FILES, writeFakeBundle } from '../bundle/fake-bundle.ts';
import { type Receiver, startReceiver } from './http-fixtures.ts';

let root: string;
let source: string;
let receiver: Receiver;
let tamper: string | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundle-download-'));
  source = join(root, 'source');
  await mkdir(source);
  await writeFakeBundle(source);
  tamper = undefined;
  receiver = await startReceiver(async (request) => {
    const path = decodeURIComponent(request.path.replace(/^\/bundle\//, ''));
    const bytes = await readFile(join(source, path)).catch(() => null);
    if (!bytes) return { status: 404 };
    if (path === tamper) bytes[0] = bytes[0]! ^ 0xff;
    return { status: 200, headers: { 'content-length': String(bytes.length) }, body: bytes };
  });
});

afterEach(async () => {
  await receiver.close();
  await rm(root, { recursive: true, force: true });
});

async function manifestSha256(): Promise<string> {
  return createHash('sha256')
    .update(await readFile(join(source, 'manifest.json')))
    .digest('hex');
}

function download(sha256: string, dir = join(root, 'bundle')) {
  const lines: string[] = [];
  const done = downloadBundle({
    url: `${receiver.url}/bundle`,
    sha256,
    dir,
    allowLoopback: true,
    log: (l) => lines.push(l),
  });
  return { done, lines };
}

describe('bundle download', () => {
  it('fetches the manifest and every file it lists, verifies them, and reuses an intact copy', async () => {
    const sha256 = await manifestSha256();
    const first = download(sha256);
    expect((await first.done).model).toBe('tiny');
    const listed = Object.keys(FAKE_BUNDLE_FILES).length;
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(
      ['/bundle/manifest.json', ...Object.keys(FAKE_BUNDLE_FILES).map((p) => `/bundle/${p}`)].sort(),
    );
    expect(first.lines).toEqual([
      `bundle: downloaded ${listed} files, 74501 bytes from ${receiver.url}/bundle/`,
    ]);
    expect((await readdir(root)).sort()).toEqual(['bundle', 'source']);
    const again = download(sha256);
    await again.done;
    expect(again.lines).toEqual([`bundle ${join(root, 'bundle')}: already downloaded and intact`]);
    expect(receiver.requests).toHaveLength(listed + 1);
  });

  it('refuses a manifest whose sha256 is not the pinned one, before fetching anything else', async () => {
    const { done } = download('0'.repeat(64));
    await expect(done).rejects.toMatchObject({ code: 'bundle_hash_mismatch', file: 'manifest.json' });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/bundle/manifest.json']);
  });

  it('refuses a file that differs from the manifest, and leaves no partial folder', async () => {
    tamper = 'weights/transformer.bin';
    const { done } = download(await manifestSha256());
    await expect(done).rejects.toMatchObject({
      code: 'bundle_hash_mismatch',
      file: 'weights/transformer.bin',
    });
    expect(await readdir(root)).toEqual(['source']);
  });

  it('names the file that could not be fetched', async () => {
    await rm(join(source, 'vae_decoder.onnx'));
    const { done } = download(await manifestSha256());
    await expect(done).rejects.toMatchObject({
      code: 'bundle_download_failed',
      file: 'vae_decoder.onnx',
      message: `vae_decoder.onnx: GET ${receiver.url}/bundle/vae_decoder.onnx answered HTTP 404`,
    });
  });
});
