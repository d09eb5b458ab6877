/**
 * Streams a multi-GB safetensors file through the weights module and prints throughput and peak RSS:
 * write, read, BF16 -> F16 conversion into an ONNX external-data file, and the same into a discarding
 * sink. Usage: `npm run bench:weights -- [--gib 2] [--dir /tmp]`. Reads right after writing are
 * mostly served from the page cache, so they measure this code, not the disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExternalDataWriter } from '../src/weights/external-data.ts';
import { openSafetensors, type TensorToWrite, writeSafetensors } from '../src/weights/safetensors.ts';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
/** FLUX's largest single tensors are ~100-200 MB; the file is cut into tensors of this size. */
const TENSOR_BYTES = 256 * MiB;

const { values } = parseArgs({ options: { gib: { type: 'string', default: '2' }, dir: { type: 'string' } } });
const totalBytes = Math.round(Number(values.gib) * 1024) * MiB;
if (!(totalBytes >= TENSOR_BYTES)) throw new Error(`--gib must be at least ${TENSOR_BYTES / 1024 / MiB}`);

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
};

function* generate(bytes: number): Generator<Uint8Array> {
  const block = randomBytes(CHUNK);
  for (let at = 0; at < bytes; at += CHUNK) {
    sampleRss();
    yield new Uint8Array(block.subarray(0, Math.min(CHUNK, bytes - at)));
  }
}

async function timed(label: string, bytes: number, work: () => Promise<unknown>): Promise<void> {
  peakRss = process.memoryUsage.rss();
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const rate = bytes / MiB / seconds;
  console.log(
    `${label.padEnd(34)} ${(bytes / MiB).toFixed(0).padStart(6)} MiB  ${seconds.toFixed(2).padStart(6)} s  ` +
      `${rate.toFixed(0).padStart(5)} MiB/s  peak RSS ${(peakRss / MiB).toFixed(0)} MiB`,
  );
}

const dir = await mkdtemp(join(values.dir ?? tmpdir(), 'bench-weights-'));
try {
  const count = Math.ceil(totalBytes / TENSOR_BYTES);
  const tensors: TensorToWrite[] = Array.from({ length: count }, (_, i) => {
    const bytes = Math.min(TENSOR_BYTES, totalBytes - i * TENSOR_BYTES);
    return { name: `blocks.${i}.weight`, dtype: 'BF16', shape: [bytes / 2], data: generate(bytes) };
  });
  const path = join(dir, 'bench.safetensors');
  console.log(`node ${process.version}, ${count} BF16 tensors, ${CHUNK / MiB} MiB chunks, in ${dir}`);
  await timed('write safetensors (+sha256)', totalBytes, () => writeSafetensors(path, tensors));

  const file = await openSafetensors(path);
  const names = [...file.header.tensors.keys()];
  await timed('stream-read safetensors', totalBytes, async () => {
    for (const name of names) for await (const _ of file.stream(name, CHUNK)) sampleRss();
  });
  for (const target of ['file', 'discard'] as const) {
    await timed(`BF16->F16 into external data (${target})`, totalBytes, async () => {
      const writer =
        target === 'file'
          ? await ExternalDataWriter.open(join(dir, 'bench.onnx.data'))
          : await ExternalDataWriter.discarding('bench.onnx.data');
      for (const name of names) {
        const chunks = (async function* () {
          for await (const chunk of file.stream(name, CHUNK)) {
            sampleRss();
            yield chunk;
          }
        })();
        await writer.append(chunks, { name, from: 'BF16', storeAs: 'F16' });
      }
      await writer.finish();
    });
  }
  await file.close();
  console.log(`max RSS of the whole run: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
