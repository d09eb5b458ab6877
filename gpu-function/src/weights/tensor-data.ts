import { WeightsError } from './errors.ts';

/** Little-endian tensor bytes: whole, or chunks split at any byte, produced lazily and consumed once. */
export type TensorData = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** The chunks of `data`, each checked to be a Uint8Array (`data_invalid` otherwise). */
export async function* chunksOf(data: TensorData, file: string, tensor?: string): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) {
    yield data;
    return;
  }
  for await (const chunk of data) {
    if (!(chunk instanceof Uint8Array)) {
      throw new WeightsError(
        'data_invalid',
        file,
        tensor,
        'data source yielded something other than a Uint8Array',
      );
    }
    yield chunk;
  }
}
