import { f32ToBf16, f32ToF16 } from '../weights/dtype.ts';

/** Element types the graph builder knows, with their ONNX codes and storage sizes. */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'bool' | 'uint8';

/** ONNX `TensorProto.DataType` codes (a fact of the ONNX spec). */
export const onnxDataType: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

export const bytesPerElement: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  bool: 1,
  uint8: 1,
};

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * In-memory tensor contents. float16/bfloat16 are raw 16-bit patterns in a Uint16Array;
 * bool is one byte per element (0 or 1) in a Uint8Array.
 */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;

const arrayKind: Readonly<Record<DType, string>> = {
  float32: 'Float32Array',
  float64: 'Float64Array',
  float16: 'Uint16Array',
  bfloat16: 'Uint16Array',
  int64: 'BigInt64Array',
  int32: 'Int32Array',
  bool: 'Uint8Array',
  uint8: 'Uint8Array',
};

/** The typed-array class that holds `dtype` data (checked when data is attached to a graph). */
export function arrayKindOf(dtype: DType): string {
  return arrayKind[dtype];
}

/** Little-endian bytes of `data` (ONNX raw_data is little-endian; so are all hosts Node supports here). */
export function toLittleEndianBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A typed array of `dtype` holding `values` (numbers converted; int64 via BigInt; float16 and
 * bfloat16 rounded to nearest even through float32).
 */
export function typedArrayOf(dtype: DType, values: readonly number[]): TensorData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values, (v) => BigInt(v));
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
    case 'uint8':
      return Uint8Array.from(values);
    case 'float16':
      return f32ToF16(Float32Array.from(values));
    case 'bfloat16':
      return f32ToBf16(Float32Array.from(values));
  }
}
