import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.ts';
import { toModelBytes } from '../../src/graph/serialize.ts';
import { convertBytes } from '../../src/weights/dtype.ts';
import { ExternalDataWriter } from '../../src/weights/external-data.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weights-external-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytesFrom = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

function* chunked(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

describe('ExternalDataWriter', () => {
  it('aligns each tensor, records refs, and hashes exactly the file it wrote', async () => {
    const path = join(dir, 'model.onnx.data');
    const writer = await ExternalDataWriter.open(path, { alignment: 64 });
    const a = bytesFrom(100, 1);
    const b = bytesFrom(64, 2);
    const c = bytesFrom(3, 3);
    const refs = [
      await writer.append(a, { name: 'a' }),
      await writer.append(chunked(b, 5), { name: 'b' }),
      await writer.append(c, { name: 'c', expectedBytes: 3 }),
    ];
    const result = await writer.finish();

    expect(refs).toEqual([
      { location: 'model.onnx.data', offset: 0, length: 100 },
      { location: 'model.onnx.data', offset: 128, length: 64 },
      { location: 'model.onnx.data', offset: 192, length: 3 },
    ]);
    const file = await readFile(path);
    expect(file.byteLength).toBe(195);
    expect(result).toEqual({ bytes: 195, sha256: createHash('sha256').update(file).digest('hex') });
    expect(file.subarray(0, 100).equals(a)).toBe(true);
    expect(file.subarray(100, 128).every((byte) => byte === 0)).toBe(true);
    expect(file.subarray(128, 192).equals(b)).toBe(true);
    expect(file.subarray(192).equals(c)).toBe(true);
  });

  it('converts dtypes while streaming (BF16 -> F16 and F32, odd chunk sizes)', async () => {
    const values = Float32Array.from({ length: 999 }, (_, i) => Math.sin(i) * 100);
    const bf16 = convertBytes(new Uint8Array(values.buffer), 'F32', 'BF16');
    const writer = await ExternalDataWriter.open(join(dir, 'converted.data'));
    const toF16 = await writer.append(chunked(bf16, 7), {
      from: 'BF16',
      storeAs: 'F16',
      expectedBytes: 1998,
    });
    const toF32 = await writer.append(chunked(bf16, 3), {
      from: 'BF16',
      storeAs: 'F32',
      expectedBytes: 3996,
    });
    await writer.finish();
    expect([toF16.offset, toF16.length, toF32.offset, toF32.length]).toEqual([0, 1998, 4096, 3996]);
    const file = await readFile(join(dir, 'converted.data'));
    expect(file.subarray(0, 1998).equals(convertBytes(bf16, 'BF16', 'F16'))).toBe(true);
    expect(file.subarray(4096).equals(convertBytes(bf16, 'BF16', 'F32'))).toBe(true);
  });

  it('discarding mode gives the same refs and sha256 as writing, and writes nothing', async () => {
    const tensors = [bytesFrom(5000, 4), bytesFrom(1, 5), bytesFrom(9000, 6)];
    const real = await ExternalDataWriter.open(join(dir, 'real.data'), { location: 'weights/real.data' });
    const dry = await ExternalDataWriter.discarding('weights/real.data');
    const realRefs = [];
    const dryRefs = [];
    for (const tensor of tensors) {
      realRefs.push(await real.append(tensor));
      dryRefs.push(await dry.append(chunked(tensor, 333)));
    }
    expect(dryRefs).toEqual(realRefs);
    expect(realRefs.map((ref) => ref.offset)).toEqual([0, 8192, 12288]);
    expect(await dry.finish()).toEqual(await real.finish());
  });

  it('rejects bad locations, alignments, sizes and use after finish, with codes', async () => {
    for (const location of ['../up.data', '/abs.data', 'a//b', '']) {
      await expect(ExternalDataWriter.discarding(location)).rejects.toMatchObject({
        code: 'location_invalid',
      });
    }
    for (const alignment of [0, 3, 4096.5, 2 ** 31]) {
      await expect(ExternalDataWriter.discarding('x.data', { alignment })).rejects.toMatchObject({
        code: 'alignment_invalid',
      });
    }
    const path = join(dir, 'failed.data');
    const writer = await ExternalDataWriter.open(path);
    await expect(writer.append(bytesFrom(10, 1), { name: 'w', expectedBytes: 12 })).rejects.toMatchObject({
      code: 'data_size_mismatch',
      tensor: 'w',
      message: "failed.data: tensor 'w': stored 10 bytes, expected 12 [data_size_mismatch]",
    });
    await expect(writer.append(bytesFrom(1, 1))).rejects.toMatchObject({ code: 'writer_closed' });
    await expect(writer.finish()).rejects.toMatchObject({ code: 'writer_closed' });
    await writer.abort();
    expect((await readdir(dir)).filter((name) => name.startsWith('failed.data'))).toEqual([]);
    const dry = await ExternalDataWriter.discarding('x.data');
    await expect(
      dry.append(chunked(bytesFrom(9, 1), 4), { from: 'F32', storeAs: 'F16' }),
    ).rejects.toMatchObject({
      code: 'partial_element',
    });
  });
});

describe('external data loaded by onnxruntime', () => {
  it('runs a model whose BF16-sourced weights were stored as F16 and F32 at aligned offsets', async () => {
    const bf16 = (...values: number[]) =>
      convertBytes(new Uint8Array(Float32Array.from(values).buffer), 'F32', 'BF16');
    const writer = await ExternalDataWriter.open(join(dir, 'tiny.onnx.data'));
    const weight = await writer.append(chunked(bf16(0.5, -1, 2, 0.25, -3, 4), 3), {
      from: 'BF16',
      storeAs: 'F16',
    });
    const bias = await writer.append(bf16(0.25, -0.5), { from: 'BF16', storeAs: 'F32' });
    await writer.finish();
    expect([weight, bias]).toEqual([
      { location: 'tiny.onnx.data', offset: 0, length: 12 },
      { location: 'tiny.onnx.data', offset: 4096, length: 8 },
    ]);

    const graph = new Graph('tiny');
    const x = graph.input('x', 'float32', [1, 3]);
    const w = graph.param('w', 'float32', [3, 2], weight, { stored: 'float16' });
    const b = graph.param('b', 'float32', [2], bias);
    graph.output('y', graph.add(graph.matmul(x, w), b));
    await writeFile(join(dir, 'tiny.onnx'), toModelBytes(graph));

    const session = await ort.InferenceSession.create(join(dir, 'tiny.onnx'), { logSeverityLevel: 3 });
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]) });
    // [1, 2, 3] @ [[0.5, -1], [2, 0.25], [-3, 4]] + [0.25, -0.5], all exact in f16 and bf16.
    expect([...(y!.data as Float32Array)]).toEqual([-4.25, 11]);
    await session.release();
  });
});
