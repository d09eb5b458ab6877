import { mulberry32 } from '../seeded-random.ts';
import { convertBytes, type FloatDtype } from '../weights/dtype.ts';

/** Elements generated per chunk: bounded memory whatever the tensor size. */
const CHUNK_ELEMENTS = 1 << 20;

/** The generator's name in manifests; change it whenever the values it produces change. */
export const RANDOM_WEIGHTS_GENERATOR = 'dragflow-uniform-v1';

/** 32-bit FNV-1a of the tensor name, mixed with the seed: each tensor gets its own independent stream. */
function tensorStreamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * How a parameter is initialised, by its role: matrices and kernels ~ U(+-1/sqrt(fan_in)) so
 * activations keep their scale through the depth; norm scales near 1; biases near 0.
 */
function initRule(name: string, shape: readonly number[]): { offset: number; spread: number } {
  if (shape.length >= 2) {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    return { offset: 0, spread: 1 / Math.sqrt(fanIn) };
  }
  const isNormScale = name.endsWith('.scale') || /norm[^.]*\.weight$/.test(name);
  return isNormScale ? { offset: 1, spread: 0.1 } : { offset: 0, spread: 0.02 };
}

/**
 * Deterministic random values for one parameter, as little-endian `dtype` bytes in bounded chunks:
 * the same seed, name and shape always give the same bytes, whatever order tensors are generated in.
 */
export function* randomParameter(
  seed: number,
  name: string,
  shape: readonly number[],
  dtype: FloatDtype,
): Generator<Uint8Array> {
  const uniform = mulberry32(tensorStreamSeed(seed, name));
  const { offset, spread } = initRule(name, shape);
  let left = shape.reduce((a, b) => a * b, 1);
  while (left > 0) {
    const values = new Float32Array(Math.min(left, CHUNK_ELEMENTS));
    for (let i = 0; i < values.length; i++) values[i] = offset + spread * (2 * uniform() - 1);
    left -= values.length;
    yield convertBytes(new Uint8Array(values.buffer), 'F32', dtype, 'random', name);
  }
}
