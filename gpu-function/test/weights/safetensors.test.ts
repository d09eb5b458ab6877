import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertBytes, type SafetensorsDtype } from '../../src/weights/dtype.ts';
import type { WeightsErrorCode } from '../../src/weights/errors.ts';
import {
  MAX_READ_BYTES,
  openSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from '../../src/weights/safetensors.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weights-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

function* chunked(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

/** A 3x5 tensor per float dtype, plus an empty, a scalar and an I64 tensor. */
function sampleTensors(): {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}[] {
  const values = f32(...Array.from({ length: 15 }, (_, i) => (i - 7) * 0.625));
  return [
    { name: 'blocks.0.weight', dtype: 'F32', shape: [3, 5], bytes: values },
    { name: 'blocks.0.norm', dtype: 'F16', shape: [3, 5], bytes: convertBytes(values, 'F32', 'F16') },
    { name: 'blocks.0.proj', dtype: 'BF16', shape: [3, 5], bytes: convertBytes(values, 'F32', 'BF16') },
    { name: 'empty', dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
    { name: 'scalar', dtype: 'BF16', shape: [], bytes: new Uint8Array([0x80, 0x3f]) },
    // Non-float dtypes read and write as bytes (they only refuse conversion).
    { name: 'positions', dtype: 'I64', shape: [2], bytes: new Uint8Array(BigInt64Array.of(-1n, 7n).buffer) },
  ];
}

describe('safetensors round trip', () => {
  it.each([1, 3, 7, 4096])(
    'writes and reads F32, F16, BF16 streamed in %d-byte chunks',
    async (chunkBytes) => {
      const path = join(dir, `round-${chunkBytes}.safetensors`);
      const tensors = sampleTensors();
      const written = await writeSafetensors(
        path,
        tensors.map(({ bytes, ...layout }) => ({ ...layout, data: chunked(bytes, chunkBytes) })),
        { format: 'pt', note: 'ünïcode' },
      );
      const file = await openSafetensors(path);
      try {
        expect(file.header.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
        expect([...file.header.tensors.keys()]).toEqual(written.order);
        for (const { name, dtype, shape, bytes } of tensors) {
          const info = file.header.tensors.get(name)!;
          expect({ dtype: info.dtype, shape: info.shape }).toEqual({ dtype, shape });
          expect(info.dataOffsets[1] - info.dataOffsets[0]).toBe(bytes.byteLength);
          expect(await file.read(name)).toEqual(bytes);
          expect(await collect(file.stream(name, chunkBytes))).toEqual(bytes);
        }
        const onDisk = await readFile(path);
        expect(onDisk.byteLength).toBe(written.bytes);
        expect(sha256(onDisk)).toBe(written.sha256);
      } finally {
        await file.close();
      }
    },
  );

  it('is deterministic: header bytes exact, order by element size then name, 8-byte aligned data', async () => {
    const tensors: TensorToWrite[] = [
      { name: 'b', dtype: 'F16', shape: [1], data: new Uint8Array([0, 0x3c]) },
      { name: 'a', dtype: 'F16', shape: [1], data: new Uint8Array([0, 0xc0]) },
      { name: 'w', dtype: 'F32', shape: [1], data: f32(2) },
    ];
    const forward = await writeSafetensors(join(dir, 'order1.safetensors'), tensors, { z: '1', a: '2' });
    const reversed = await writeSafetensors(join(dir, 'order2.safetensors'), [...tensors].reverse(), {
      a: '2',
      z: '1',
    });
    expect(forward.order).toEqual(['w', 'a', 'b']);
    expect(reversed.sha256).toBe(forward.sha256);

    const bytes = await readFile(join(dir, 'order1.safetensors'));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const json =
      '{"__metadata__":{"a":"2","z":"1"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"a":{"dtype":"F16","shape":[1],"data_offsets":[4,6]},"b":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}}';
    expect(headerLength % 8).toBe(0);
    expect(headerLength - json.length).toBeLessThan(8);
    expect(bytes.subarray(8, 8 + headerLength).toString('utf8')).toBe(json.padEnd(headerLength, ' '));
    expect([...bytes.subarray(8 + headerLength)]).toEqual([0, 0, 0, 0x40, 0, 0xc0, 0, 0x3c]);
  });

  it('keeps integer-like and __proto__ names in data order', async () => {
    const path = join(dir, 'odd-names.safetensors');
    await writeSafetensors(path, [
      { name: '10', dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
      { name: '__proto__', dtype: 'U8', shape: [1], data: new Uint8Array([2]) },
      { name: '2', dtype: 'U8', shape: [1], data: new Uint8Array([3]) },
    ]);
    const file = await openSafetensors(path);
    expect([...file.header.tensors.keys()]).toEqual(['10', '2', '__proto__']);
    expect([...(await file.read('__proto__'))]).toEqual([2]);
    await file.close();
  });
});

describe('safetensors writer rejects bad input and leaves no file', () => {
  it('reports an unwritable destination with a code', async () => {
    const path = join(dir, 'no-such-dir', 'x.safetensors');
    await expect(writeSafetensors(path, [])).rejects.toMatchObject({ code: 'file_unwritable', file: path });
  });

  it.each([
    ['fewer bytes than declared', [f32(1)], 'data_size_mismatch', /gave 4 bytes, not the 8 bytes/],
    ['more bytes than declared', [f32(1, 2), f32(3)], 'data_size_mismatch', /gave more than the 8 bytes/],
    ['a non-byte chunk', ['text' as unknown as Uint8Array], 'data_invalid', /other than a Uint8Array/],
  ] as const)('%s', async (_, chunks, code, message) => {
    const path = join(dir, `bad-${code}-${chunks.length}.safetensors`);
    const write = writeSafetensors(path, [
      { name: 'ok', dtype: 'F32', shape: [1], data: f32(1) },
      { name: 'x', dtype: 'F32', shape: [2], data: chunks },
    ]);
    await expect(write).rejects.toMatchObject({ code, tensor: 'x', message: expect.stringMatching(message) });
    expect((await readdir(dir)).filter((name) => name.startsWith(`bad-${code}-${chunks.length}`))).toEqual(
      [],
    );
  });

  it.each([
    ['a duplicate name', [{ name: 'a' }, { name: 'a' }]],
    ['the reserved name', [{ name: '__metadata__' }]],
    ['an unknown dtype', [{ name: 'a', dtype: 'F128' }]],
    ['a negative dimension', [{ name: 'a', shape: [-1] }]],
    ['a fractional dimension', [{ name: 'a', shape: [1.5] }]],
  ])('layout with %s', async (_, overrides) => {
    const tensors = overrides.map((o) => ({
      dtype: 'U8',
      shape: [1],
      data: new Uint8Array(1),
      ...o,
    }));
    await expect(
      writeSafetensors(join(dir, 'layout.safetensors'), tensors as TensorToWrite[]),
    ).rejects.toMatchObject({
      code: 'layout_invalid',
    });
  });
});

/** A file from a literal header (padded to 8) and data; `declaredLength` overrides the prefix. */
function craft(
  header: string | Uint8Array,
  data: Uint8Array = new Uint8Array(0),
  declaredLength?: bigint,
): Buffer {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(headerBytes.byteLength));
  return Buffer.concat([prefix, headerBytes, data]);
}

const entry = (dtype: unknown, shape: unknown, offsets: unknown) =>
  JSON.stringify({ dtype, shape, data_offsets: offsets });

describe('safetensors reader rejects corrupt, truncated and lying files', () => {
  const cases: [string, Buffer, WeightsErrorCode, string | undefined][] = [
    ['shorter than the length prefix', Buffer.from([1, 2, 3]), 'file_too_small', undefined],
    ['header length above 100 MB', craft('{}', undefined, 200_000_000n), 'header_too_large', undefined],
    ['header length of 2^64-1', craft('{}', undefined, 2n ** 64n - 1n), 'header_too_large', undefined],
    ['header length past end of file', craft('{}', undefined, 64n), 'header_out_of_bounds', undefined],
    ['header not UTF-8', craft(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 'header_not_utf8', undefined],
    ['header not JSON', craft('{"a":'), 'header_not_json', undefined],
    ['header padded with NULs', craft('{}\0\0\0\0\0\0'), 'header_not_json', undefined],
    ['header a JSON array', craft('[1, 2]'), 'header_not_object', undefined],
    ['metadata with a number value', craft('{"__metadata__":{"k":1}}'), 'metadata_invalid', undefined],
    ['metadata not an object', craft('{"__metadata__":"x"}'), 'metadata_invalid', undefined],
    ['entry not an object', craft('{"t":[1]}'), 'tensor_entry_invalid', 't'],
    [
      'entry with an extra key',
      craft('{"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":1}}'),
      'tensor_entry_invalid',
      't',
    ],
    ['entry missing data_offsets', craft('{"t":{"dtype":"U8","shape":[0]}}'), 'tensor_entry_invalid', 't'],
    [
      'unknown dtype',
      craft(`{"t":${entry('F128', [1], [0, 16])}}`, new Uint8Array(16)),
      'dtype_unknown',
      't',
    ],
    [
      'lower-case dtype',
      craft(`{"t":${entry('float32', [1], [0, 4])}}`, new Uint8Array(4)),
      'dtype_unknown',
      't',
    ],
    ['negative dimension', craft(`{"t":${entry('U8', [-1], [0, 0])}}`), 'shape_invalid', 't'],
    [
      'string dimension',
      craft(`{"t":${entry('U8', ['2'], [0, 2])}}`, new Uint8Array(2)),
      'shape_invalid',
      't',
    ],
    [
      'shape overflowing 2^53 bytes',
      craft(`{"t":${entry('F32', [2 ** 26, 2 ** 26], [0, 0])}}`),
      'shape_invalid',
      't',
    ],
    ['end before begin', craft(`{"t":${entry('U8', [0], [4, 0])}}`), 'offsets_invalid', 't'],
    ['one offset', craft(`{"t":${entry('U8', [0], [0])}}`), 'offsets_invalid', 't'],
    [
      'offset beyond 2^53',
      craft(`{"t":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}}`),
      'offsets_invalid',
      't',
    ],
    [
      'span differs from shape',
      craft(`{"t":${entry('F32', [2], [0, 4])}}`, new Uint8Array(4)),
      'byte_length_mismatch',
      't',
    ],
    [
      'overlapping tensors',
      craft(`{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [1], [4, 8])}}`, new Uint8Array(8)),
      'offsets_overlap',
      'b',
    ],
    [
      'gap before the first tensor',
      craft(`{"t":${entry('F32', [1], [4, 8])}}`, new Uint8Array(8)),
      'offsets_gap',
      't',
    ],
    [
      'duplicate key hiding a region',
      craft(`{"t":${entry('U8', [4], [0, 4])},"t":${entry('U8', [4], [4, 8])}}`, new Uint8Array(8)),
      'offsets_gap',
      't',
    ],
    [
      'header claims more data than exists',
      craft(`{"t":${entry('F32', [4], [0, 16])}}`, new Uint8Array(12)),
      'file_truncated',
      undefined,
    ],
    [
      'header claims less data than exists',
      craft(`{"t":${entry('F32', [2], [0, 8])}}`, new Uint8Array(12)),
      'file_trailing_bytes',
      undefined,
    ],
  ];

  it.each(cases)('%s', async (label, bytes, code, tensor) => {
    const path = join(dir, `corrupt-${label.replaceAll(/\W+/g, '-')}.safetensors`);
    await writeFile(path, bytes);
    const opened = openSafetensors(path);
    await expect(opened).rejects.toMatchObject({ name: 'WeightsError', code, tensor, file: path });
    await expect(openSafetensors(path)).rejects.toThrow(path);
  });

  it('rejects every truncation of a valid file', async () => {
    const path = join(dir, 'whole.safetensors');
    await writeSafetensors(
      path,
      sampleTensors().map(({ bytes, ...layout }) => ({ ...layout, data: bytes })),
    );
    const whole = await readFile(path);
    const codes = new Map<string, number>();
    const cut = join(dir, 'cut.safetensors');
    for (let length = 0; length < whole.byteLength; length++) {
      await writeFile(cut, whole.subarray(0, length));
      const code = await openSafetensors(cut).then(
        async (file) => {
          await file.close();
          return 'opened';
        },
        (error) => (error as { code: string }).code,
      );
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    const headerEnd = 8 + Number(whole.readBigUInt64LE(0));
    expect(Object.fromEntries(codes)).toEqual({
      file_too_small: 8,
      header_out_of_bounds: headerEnd - 8,
      file_truncated: whole.byteLength - headerEnd,
    });
  });

  it('refuses read() of a tensor above MAX_READ_BYTES but streams it', async () => {
    // A sparse file: the header is real, the 257 MiB of zeros take no disk space.
    const path = join(dir, 'sparse.safetensors');
    const bytes = MAX_READ_BYTES + 1024 * 1024;
    const file = craft(`{"huge":${entry('U8', [bytes], [0, bytes])}}`);
    await writeFile(path, file);
    await truncate(path, file.byteLength + bytes);
    const opened = await openSafetensors(path);
    await expect(opened.read('huge')).rejects.toMatchObject({ code: 'tensor_too_large', tensor: 'huge' });
    const first = await opened.stream('huge', 1000).next();
    expect(first.value).toEqual(new Uint8Array(1000));
    await opened.close();
  });

  it('fails reads on unknown tensors, bad chunk sizes, missing files and files that shrank', async () => {
    const path = join(dir, 'shrinks.safetensors');
    await writeSafetensors(path, [{ name: 'big', dtype: 'U8', shape: [1000], data: new Uint8Array(1000) }]);
    await expect(openSafetensors(join(dir, 'absent.safetensors'))).rejects.toMatchObject({
      code: 'file_unreadable',
    });
    const file = await openSafetensors(path);
    await expect(file.read('nope')).rejects.toMatchObject({ code: 'tensor_not_found', tensor: 'nope' });
    await expect(collect(file.stream('big', 0))).rejects.toMatchObject({ code: 'chunk_size_invalid' });
    await truncate(path, 500);
    await expect(file.read('big')).rejects.toMatchObject({ code: 'file_changed', tensor: 'big' });
    await file.close();
  });
});
