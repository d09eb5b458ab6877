import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32Bits,
  convertBytes,
  convertChunks,
  f16BitsToF32Bits,
  f16ToF32,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBf16,
  f32ToF16,
} from '../../src/weights/dtype.ts';
import { WeightsError } from '../../src/weights/errors.ts';

const bitsOf = (value: number): number => new Uint32Array(Float32Array.of(value).buffer)[0]!;
const f32FromBits = (bits: number): number => new Float32Array(Uint32Array.of(bits).buffer)[0]!;
/** Test titles show bit patterns in hex. */
const hex = (bits: number) => `0x${bits.toString(16).padStart(4, '0')}`;
const toF16 = (value: number): number => f32BitsToF16Bits(bitsOf(value));
const fromF16 = (half: number): number => f32FromBits(f16BitsToF32Bits(half));

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits `bytes` into chunks of the given sizes, cycling, so boundaries fall mid-element. */
function* split(bytes: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

describe('f32 -> f16', () => {
  it.each(
    (
      [
        [1.0, 0x3c00],
        [-2.5, 0xc100],
        [65504, 0x7bff], // largest finite
        [65519, 0x7bff], // just under the tie with 65536
        [65520, 0x7c00], // tie between 65504 (odd) and 65536 (even, overflows) -> +Inf
        [2 ** -14, 0x0400], // smallest normal
        [2 ** -24, 0x0001], // smallest subnormal
        [1023 * 2 ** -24, 0x03ff], // largest subnormal
        [2 ** -25, 0x0000], // tie between 0 (even) and 2^-24 -> 0
        [1.5 * 2 ** -25, 0x0001], // above the tie -> 2^-24
        [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps -> 2 (even)
        [1 + 2 ** -11, 0x3c00], // tie -> even mantissa 0
        [1 + 3 * 2 ** -11, 0x3c02], // tie -> even mantissa 2
        [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
        [-0, 0x8000],
        [1e-45, 0x0000], // f32 subnormal underflows
        [Number.POSITIVE_INFINITY, 0x7c00],
        [Number.NEGATIVE_INFINITY, 0xfc00],
        [1e10, 0x7c00],
      ] as [number, number][]
    ).map(([value, bits]) => [value, hex(bits), bits] as const),
  )('%d -> %s', (value, _, expected) => {
    expect(toF16(value)).toBe(expected);
  });

  it('keeps NaN a NaN, including signalling NaNs whose payload sits in the dropped bits', () => {
    expect(f32BitsToF16Bits(0x7fc00000)).toBe(0x7e00);
    expect(f32BitsToF16Bits(0x7f800001)).toBe(0x7e00);
    expect(f32BitsToF16Bits(0xffc00000)).toBe(0xfe00);
  });

  it('is the nearest f16, ties to even, for 200k random f32 values from 2^-26 to 2^17', () => {
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    const wrong: string[] = [];
    for (let n = 0; n < 200_000; n++) {
      const bits = ((next() & 0x80000000) | ((101 + (next() % 43)) << 23) | (next() & 0x7fffff)) >>> 0;
      const x = Math.abs(f32FromBits(bits));
      const magnitude = f32BitsToF16Bits(bits) & 0x7fff;
      const error = Math.abs(x - fromF16(magnitude));
      // Neighbours one ulp either side; the one above the largest finite is "65536" (the overflow tie point).
      const below = magnitude === 0 ? Number.POSITIVE_INFINITY : Math.abs(x - fromF16(magnitude - 1));
      const above = Math.abs(x - (magnitude === 0x7bff ? 65536 : fromF16(magnitude + 1)));
      const nearest = magnitude === 0x7c00 ? x >= 65520 : error <= below && error <= above;
      const tieToEven = (error !== below && error !== above) || magnitude % 2 === 0 || error === 0;
      if (!nearest || !tieToEven) wrong.push(`0x${bits.toString(16)} -> 0x${magnitude.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('f16 -> f32', () => {
  it.each(
    (
      [
        [0x3c00, 1.0],
        [0xc100, -2.5],
        [0x7bff, 65504],
        [0x0001, 2 ** -24],
        [0x03ff, 1023 * 2 ** -24],
        [0x0400, 2 ** -14],
        [0x7c00, Number.POSITIVE_INFINITY],
        [0xfc00, Number.NEGATIVE_INFINITY],
        [0x8000, -0],
      ] as [number, number][]
    ).map(([half, value]) => [hex(half), value, half] as const),
  )('%s -> %d', (_, expected, half) => {
    expect(Object.is(fromF16(half), expected)).toBe(true);
  });

  it('round-trips all 65536 bit patterns (NaNs stay NaN)', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const back = f32ToF16(f16ToF32(all));
    let nans = 0;
    for (let half = 0; half < 0x10000; half++) {
      const isNan = (half & 0x7c00) === 0x7c00 && (half & 0x3ff) !== 0;
      if (isNan) {
        nans++;
        expect(Number.isNaN(fromF16(back[half]!))).toBe(true);
      } else if (back[half] !== half) {
        expect.fail(`0x${half.toString(16)} came back as 0x${back[half]!.toString(16)}`);
      }
    }
    expect(nans).toBe(2 * 1023);
  });
});

describe('f32 <-> bf16', () => {
  it.each(
    (
      [
        [0x3f800000, 0x3f80], // 1.0
        [bitsOf(-2.5), 0xc020],
        [0x3f808000, 0x3f80], // tie, lower half even -> down
        [0x3f818000, 0x3f82], // tie, lower half odd -> up
        [0x3f808001, 0x3f81], // above the tie
        [0x3f807fff, 0x3f80], // below the tie
        [0x7f7fffff, 0x7f80], // f32 max rounds to +Inf
        [0x7f7f7fff, 0x7f7f],
        [0x00000001, 0x0000], // smallest f32 subnormal rounds to 0
        [0x00018000, 0x0002], // subnormal tie -> even
        [0x7f800000, 0x7f80], // +Inf
        [0xff800000, 0xff80], // -Inf
        [0x80000000, 0x8000], // -0
        [0x7fc00000, 0x7fc0], // quiet NaN
        [0x7f800001, 0x7fc0], // signalling NaN with payload only in dropped bits stays NaN
        [0xff800001, 0xffc0],
      ] as [number, number][]
    ).map(([bits, half]) => [bits.toString(16), hex(half), bits, half] as const),
  )('0x%s -> %s', (_, __, bits, expected) => {
    expect(f32BitsToBf16Bits(bits)).toBe(expected);
  });

  it('widens exactly and round-trips every non-NaN bf16', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const back = f32ToBf16(new Float32Array(Uint32Array.from(all, (h) => bf16BitsToF32Bits(h)).buffer));
    const changed: number[] = [];
    for (let half = 0; half < 0x10000; half++) if (back[half] !== half) changed.push(half);
    // Only the 2 * 63 signalling NaNs (quiet bit 0x40 clear) change: they gain the quiet bit.
    expect(changed.length).toBe(126);
    expect(changed.every((half) => (half & 0x7fc0) === 0x7f80 && back[half] === (half | 0x40))).toBe(true);
    expect(f32FromBits(bf16BitsToF32Bits(0x3f80))).toBe(1);
  });
});

describe('convertBytes / convertChunks', () => {
  const values = Float32Array.from({ length: 1001 }, (_, i) => (i - 500) * 0.37 + (i % 7) * 1e-3);
  const f32Bytes = new Uint8Array(values.buffer);

  it('converts f16 <-> bf16 with a single rounding through exact f32', () => {
    const f16 = new Uint8Array(Uint16Array.of(0x7bff, 0x3c00, 0x0001).buffer);
    expect([...new Uint16Array(convertBytes(f16, 'F16', 'BF16').buffer)]).toEqual([0x4780, 0x3f80, 0x3380]);
    const bf16 = new Uint8Array(Uint16Array.of(0x4780, 0x3f80, 0xc020).buffer);
    expect([...new Uint16Array(convertBytes(bf16, 'BF16', 'F16').buffer)]).toEqual([0x7c00, 0x3c00, 0xc100]);
  });

  it('accepts input at an odd byte offset', () => {
    const shifted = new Uint8Array(f32Bytes.byteLength + 1);
    shifted.set(f32Bytes, 1);
    const expected = convertBytes(f32Bytes, 'F32', 'F16');
    expect(convertBytes(shifted.subarray(1), 'F32', 'F16')).toEqual(expected);
    expect(expected.byteLength).toBe(2002);
  });

  it.each([
    ['F32', 'F16', [1]],
    ['F32', 'BF16', [3, 5, 7]],
    ['F16', 'F32', [1, 2, 3]],
    ['BF16', 'F16', [4097, 1]],
    ['F32', 'F32', [13]],
  ] as const)(
    'streams %s -> %s with chunk sizes %j like the whole-array conversion',
    async (from, to, sizes) => {
      const source = from === 'F32' ? f32Bytes : convertBytes(f32Bytes, 'F32', from);
      const whole = convertBytes(source, from, to);
      const streamed = await collect(convertChunks(split(source, sizes), from, to));
      expect(streamed.byteLength).toBe(whole.byteLength);
      expect(Buffer.compare(streamed, whole)).toBe(0);
    },
  );

  it('rejects a stream ending mid-element and non-float dtypes, with codes', async () => {
    const odd = collect(convertChunks(split(f32Bytes.subarray(0, 10), [3]), 'F32', 'F16', 'w.bin', 't'));
    await expect(odd).rejects.toMatchObject({ code: 'partial_element', file: 'w.bin', tensor: 't' });
    expect(() => convertBytes(f32Bytes.subarray(0, 6), 'F32', 'F16')).toThrow(WeightsError);
    expect(() => convertBytes(f32Bytes, 'I32', 'F32')).toThrow(
      /I32 converts to nothing.*\[dtype_not_convertible\]/,
    );
  });
});
