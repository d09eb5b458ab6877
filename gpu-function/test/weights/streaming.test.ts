import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ExternalDataWriter } from '../../src/weights/external-data.ts';
import { openSafetensors, writeSafetensors } from '../../src/weights/safetensors.ts';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weights-streaming-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Memory high-water marks, sampled by the code under test as chunks pass. */
const peak = { heap: 0, arrayBuffers: 0 };
function sample(): void {
  const usage = process.memoryUsage();
  peak.heap = Math.max(peak.heap, usage.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, usage.arrayBuffers);
}

/** `totalBytes` of pseudo-random data in fresh 4 MiB chunks, each stamped with its index, hashed as made. */
function* generate(totalBytes: number, hash: ReturnType<typeof createHash>): Generator<Uint8Array> {
  const block = randomBytes(CHUNK);
  for (let at = 0, index = 0; at < totalBytes; at += CHUNK, index++) {
    const chunk = new Uint8Array(block.subarray(0, Math.min(CHUNK, totalBytes - at)));
    new DataView(chunk.buffer).setUint32(0, index, true);
    hash.update(chunk);
    sample();
    yield chunk;
  }
}

it('streams 300 MB through write, read and F32->F16 conversion with small heap and buffer growth', async () => {
  const path = join(dir, 'big.safetensors');
  const sizes = { 'big.bf16': 200 * MiB, 'big.f32': 100 * MiB };
  const sourceHashes = { 'big.bf16': createHash('sha256'), 'big.f32': createHash('sha256') };
  const before = process.memoryUsage();
  peak.heap = before.heapUsed;
  peak.arrayBuffers = before.arrayBuffers;

  const written = await writeSafetensors(path, [
    {
      name: 'big.bf16',
      dtype: 'BF16',
      shape: [sizes['big.bf16'] / 2],
      data: generate(sizes['big.bf16'], sourceHashes['big.bf16']),
    },
    {
      name: 'big.f32',
      dtype: 'F32',
      shape: [1024, sizes['big.f32'] / 4096],
      data: generate(sizes['big.f32'], sourceHashes['big.f32']),
    },
  ]);
  expect((await stat(path)).size).toBe(written.bytes);
  expect(written.bytes).toBeGreaterThan(300 * MiB);

  const file = await openSafetensors(path);
  const external = await ExternalDataWriter.discarding('big.data');
  try {
    for (const name of ['big.bf16', 'big.f32'] as const) {
      const readHash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of file.stream(name, CHUNK)) {
        readHash.update(chunk);
        bytes += chunk.byteLength;
        sample();
      }
      expect(bytes).toBe(sizes[name]);
      expect(readHash.digest('hex')).toBe(sourceHashes[name].digest('hex'));
    }
    const ref = await external.append(file.stream('big.f32', CHUNK), { from: 'F32', storeAs: 'F16' });
    expect(ref).toEqual({ location: 'big.data', offset: 0, length: sizes['big.f32'] / 2 });
  } finally {
    await file.close();
  }
  sample();
  expect((peak.heap - before.heapUsed) / MiB).toBeLessThan(50);
  // Tensors are 200 and 100 MB; only chunks awaiting collection (~47 MB measured) may exist at once.
  expect((peak.arrayBuffers - before.arrayBuffers) / MiB).toBeLessThan(100);
});
