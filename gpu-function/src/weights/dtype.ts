import { WeightsError } from './errors.ts';

/**
 * Safetensors element types with whole-byte elements, and their sizes. A file holding any of them
 * opens and reads as bytes; only the float types below convert (`dtype_not_convertible` otherwise).
 */
export const safetensorsDtypeBytes = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof safetensorsDtypeBytes;

/** The weight dtypes this project stores and converts between (f32, f16, bf16). */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(safetensorsDtypeBytes, value);
}

export function isFloatDtype(value: unknown): value is FloatDtype {
  return value === 'F32' || value === 'F16' || value === 'BF16';
}

// --- Bit-level conversions. All go through f32 bits: f16 and bf16 widen to f32 exactly, so one
// rounding (to nearest, ties to even) happens only on the narrowing side.

/** f32 bits -> f16 bits, round to nearest even; overflow -> Inf, NaN stays a (quiet) NaN. */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13));
  if (exponent >= 113) {
    // f16 normal range (2^-14 and up). A carry out of the mantissa bumps the exponent, and from
    // the largest finite value (0x7bff) lands exactly on Inf (0x7c00), which is the correct overflow.
    if (exponent > 142) return sign | 0x7c00;
    let half = ((exponent - 112) << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  // Below 2^-25 everything rounds to zero (2^-25 itself is a tie with zero, which is even).
  if (exponent < 102) return sign;
  // f16 subnormal: value / 2^-24, with the implicit leading one made explicit.
  const shift = 126 - exponent;
  const full = mantissa | 0x800000;
  let half = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const tie = 1 << (shift - 1);
  if (rest > tie || (rest === tie && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** f16 bits -> f32 bits (exact). */
export function f16BitsToF32Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  let mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal: shift the leading one up to the implicit position, lowering the exponent each time.
  let unbiased = -14;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    unbiased -= 1;
  }
  return (sign | ((unbiased + 127) << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

/** f32 bits -> bf16 bits, round to nearest even; NaN stays a quiet NaN with its sign. */
export function f32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) >>> 0 > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  // Adding 0x7fff plus the lowest kept bit rounds ties to even; cannot wrap since NaNs are excluded.
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** bf16 bits -> f32 bits (exact). */
export function bf16BitsToF32Bits(half: number): number {
  return (half << 16) >>> 0;
}

/** `convert` applied to every 16-bit pattern, once: a lookup is several times faster than the bit walk. */
function tabulate<T extends Uint16Array | Uint32Array>(table: T, convert: (half: number) => number): T {
  for (let half = 0; half < 0x10000; half++) table[half] = convert(half);
  return table;
}

const tables: { f16ToF32?: Uint32Array; f16ToBf16?: Uint16Array; bf16ToF16?: Uint16Array } = {};

function requireLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new WeightsError(
      'platform_big_endian',
      '<memory>',
      undefined,
      'weights are little-endian; host is not',
    );
  }
}

// --- Typed-array conversions. Each loop sees one array type and one callee, which V8 compiles to
// tight code; a shared generic loop measured 3-5x slower once it saw several.

/** f32 bits narrowed to 16 bits each (V8 keeps this loop fast while it sees only these two callees). */
function narrow(values: Float32Array, convert: (bits: number) => number): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = convert(bits[i]!);
  return out;
}

export function f32ToF16(values: Float32Array): Uint16Array {
  return narrow(values, f32BitsToF16Bits);
}

export function f32ToBf16(values: Float32Array): Uint16Array {
  return narrow(values, f32BitsToBf16Bits);
}

export function bf16ToF32(halves: Uint16Array): Float32Array {
  const out = new Uint32Array(halves.length);
  for (let i = 0; i < out.length; i++) out[i] = bf16BitsToF32Bits(halves[i]!);
  return new Float32Array(out.buffer);
}

export function f16ToF32(halves: Uint16Array): Float32Array {
  const table = (tables.f16ToF32 ??= tabulate(new Uint32Array(0x10000), f16BitsToF32Bits));
  const out = new Uint32Array(halves.length);
  for (let i = 0; i < out.length; i++) out[i] = table[halves[i]!]!;
  return new Float32Array(out.buffer);
}

/** f16 <-> bf16 widen to f32 exactly first, so each is a single correctly rounded step. */
function halfToHalf(halves: Uint16Array, from: 'F16' | 'BF16'): Uint16Array {
  const table =
    from === 'F16'
      ? (tables.f16ToBf16 ??= tabulate(new Uint16Array(0x10000), (h) =>
          f32BitsToBf16Bits(f16BitsToF32Bits(h)),
        ))
      : (tables.bf16ToF16 ??= tabulate(new Uint16Array(0x10000), (h) =>
          f32BitsToF16Bits(bf16BitsToF32Bits(h)),
        ));
  const out = new Uint16Array(halves.length);
  for (let i = 0; i < out.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

// --- Byte-level conversions (little-endian raw tensor bytes, as in safetensors and ONNX raw data).

function requireConvertible(
  dtype: SafetensorsDtype,
  file: string,
  tensor: string | undefined,
): asserts dtype is FloatDtype {
  if (!isFloatDtype(dtype)) {
    throw new WeightsError(
      'dtype_not_convertible',
      file,
      tensor,
      `${dtype} converts to nothing; only F32, F16, BF16 do`,
    );
  }
}

/** `bytes` as elements of `width` bytes; copies only when the start is not aligned for that width. */
function elementsOf(bytes: Uint8Array, width: 2 | 4): Uint16Array | Uint32Array {
  const source = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  const count = source.byteLength / width;
  return width === 2
    ? new Uint16Array(source.buffer, source.byteOffset, count)
    : new Uint32Array(source.buffer, source.byteOffset, count);
}

/**
 * Converts whole elements of `from` to `to`. Same dtype returns `bytes` itself (no copy). `file` and
 * `tensor` only label errors.
 */
export function convertBytes(
  bytes: Uint8Array,
  from: SafetensorsDtype,
  to: SafetensorsDtype,
  file = '<memory>',
  tensor?: string,
): Uint8Array {
  requireConvertible(from, file, tensor);
  requireConvertible(to, file, tensor);
  const width = safetensorsDtypeBytes[from];
  if (bytes.byteLength % width !== 0) {
    throw new WeightsError(
      'partial_element',
      file,
      tensor,
      `${bytes.byteLength} bytes is not whole ${from} elements`,
    );
  }
  if (from === to) return bytes;
  requireLittleEndian();
  const elements = elementsOf(bytes, width);
  let out: Uint16Array | Float32Array;
  if (from === 'F32') {
    const values = new Float32Array(elements.buffer, elements.byteOffset, elements.length);
    out = to === 'F16' ? f32ToF16(values) : f32ToBf16(values);
  } else if (to === 'F32') {
    out = from === 'F16' ? f16ToF32(elements as Uint16Array) : bf16ToF32(elements as Uint16Array);
  } else {
    out = halfToHalf(elements as Uint16Array, from as 'F16' | 'BF16');
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Streaming `convertBytes`: chunks may split elements at any byte; the split bytes are carried into
 * the next chunk. A stream that ends mid-element fails with `partial_element`.
 */
export async function* convertChunks(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  from: SafetensorsDtype,
  to: SafetensorsDtype,
  file = '<stream>',
  tensor?: string,
): AsyncGenerator<Uint8Array> {
  requireConvertible(from, file, tensor);
  requireConvertible(to, file, tensor);
  const width = safetensorsDtypeBytes[from];
  let carry = new Uint8Array(0);
  for await (const chunk of chunks) {
    let bytes = chunk;
    if (carry.byteLength > 0) {
      bytes = new Uint8Array(carry.byteLength + chunk.byteLength);
      bytes.set(carry);
      bytes.set(chunk, carry.byteLength);
    }
    const whole = bytes.byteLength - (bytes.byteLength % width);
    if (whole > 0) yield convertBytes(bytes.subarray(0, whole), from, to, file, tensor);
    carry = bytes.slice(whole);
  }
  if (carry.byteLength > 0) {
    throw new WeightsError(
      'partial_element',
      file,
      tensor,
      `stream ended ${carry.byteLength} byte(s) into a ${from} element`,
    );
  }
}
