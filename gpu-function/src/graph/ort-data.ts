/**
 * The one place where tensor data crosses the onnxruntime-node boundary.
 *
 * Inside the project float16 is always raw 16-bit patterns in a Uint16Array (`TensorData`).
 * Where the runtime has a `Float16Array` (Node 24), onnxruntime-node's JS layer wraps float16 data
 * in one, both the outputs it returns and the Uint16Array inputs it is given; its native binding,
 * though, reads input data only as Uint16Array bit patterns (a Float16Array feed fails with "not
 * enough space"). Where there is no Float16Array (Node 20) everything stays Uint16Array. So outputs
 * are read back as bit patterns and inputs go in as bit patterns, whatever the runtime. Viewing the
 * same bytes copies nothing and changes no bit (no value is decoded, so NaN payloads and signed
 * zeros survive), which keeps the float16 K/V cache half-size and bit-exact on either runtime.
 */
import * as ort from 'onnxruntime-node';
import type { TensorData } from './dtype.ts';

/** A 16-bit float array as a runtime with `Float16Array` returns it (absent from the ES2023 lib). */
interface Float16ArrayLike extends ArrayBufferView {
  readonly length: number;
  readonly BYTES_PER_ELEMENT: 2;
}

const Float16ArrayClass = (
  globalThis as { Float16Array?: abstract new (...args: never[]) => Float16ArrayLike }
).Float16Array;

function isFloat16Array(data: unknown): data is Float16ArrayLike {
  return Float16ArrayClass !== undefined && data instanceof Float16ArrayClass;
}

/** float16 data in either representation as its bit patterns (a view, not a copy). */
export function float16Bits(data: Uint16Array | Float16ArrayLike): Uint16Array {
  if (data instanceof Uint16Array) return data;
  if (isFloat16Array(data)) return new Uint16Array(data.buffer, data.byteOffset, data.length);
  throw new TypeError(
    `float16 data must be a Uint16Array or Float16Array, not ${(data as object).constructor.name}`,
  );
}

/** An output's data in the project's representation (float16 as bit patterns). */
export function fromOrtTensor(tensor: ort.Tensor): TensorData {
  if (tensor.type === 'float16') return float16Bits(tensor.data as Uint16Array | Float16ArrayLike);
  return tensor.data as TensorData;
}

/** A feed for onnxruntime: float16 data is handed to the native binding as bit patterns. */
export function toOrtTensor(type: ort.Tensor.Type, data: TensorData, dims: readonly number[]): ort.Tensor {
  const tensor = new ort.Tensor(type, data as ort.Tensor.DataType, [...dims]);
  if (type === 'float16' && !(tensor.data instanceof Uint16Array)) {
    // The JS layer wrapped the bits in a Float16Array; the binding reads `data`, so pin the bits there.
    Object.defineProperty(tensor, 'data', { value: float16Bits(data as Uint16Array) });
  }
  return tensor;
}
