/** Stable machine-readable codes for every way reading, writing or converting weights can fail. */
export type WeightsErrorCode =
  | 'file_unreadable' // open/stat/read failed at the operating-system level
  | 'file_unwritable' // create/write/rename failed at the operating-system level (e.g. disk full)
  | 'file_too_small' // shorter than the 8-byte header-length prefix
  | 'header_too_large' // declared header length above MAX_HEADER_BYTES
  | 'header_out_of_bounds' // declared header length runs past the end of the file
  | 'header_not_utf8'
  | 'header_not_json'
  | 'header_not_object' // JSON, but not a `{...}` object
  | 'metadata_invalid' // `__metadata__` is not a string -> string map
  | 'tensor_entry_invalid' // entry is not `{dtype, shape, data_offsets}` exactly
  | 'dtype_unknown' // not a safetensors dtype this reader knows the element size of
  | 'shape_invalid' // not an array of non-negative safe integers, or its byte size is not a safe integer
  | 'offsets_invalid' // data_offsets not [begin, end] with 0 <= begin <= end, safe integers
  | 'byte_length_mismatch' // end - begin differs from product(shape) * element size
  | 'offsets_overlap' // two tensors share bytes
  | 'offsets_gap' // bytes of the data area that belong to no tensor
  | 'file_truncated' // the file is shorter than 8 + header + data (header claims more bytes than exist)
  | 'file_trailing_bytes' // the file is longer than 8 + header + data (header claims fewer bytes)
  | 'file_changed' // the file shrank or moved under an open reader
  | 'tensor_not_found'
  | 'tensor_too_large' // read() of a tensor above MAX_READ_BYTES; use stream()
  | 'chunk_size_invalid'
  | 'dtype_not_convertible' // conversion asked for a dtype other than F32, F16, BF16
  | 'partial_element' // a byte stream ended in the middle of an element
  | 'platform_big_endian' // typed-array conversions assume a little-endian host
  | 'layout_invalid' // tensors given to a writer: duplicate/reserved name, bad dtype or shape
  | 'data_size_mismatch' // a data source yielded more or fewer bytes than its tensor declares
  | 'data_invalid' // a data source yielded something that is not a Uint8Array
  | 'alignment_invalid'
  | 'location_invalid' // external-data location not a plain relative file name
  | 'writer_closed' // append after finish/abort
  | 'index_invalid'; // a sharded checkpoint's model.safetensors.index.json is unreadable or disagrees with its shards

/**
 * A weights failure. `file` is the path at fault and `tensor` the tensor name when one is concerned,
 * so the message reads `<file>: tensor '<name>': <reason> [<code>]`.
 */
export class WeightsError extends Error {
  constructor(
    readonly code: WeightsErrorCode,
    readonly file: string,
    readonly tensor: string | undefined,
    reason: string,
  ) {
    const where = tensor === undefined ? file : `${file}: tensor '${tensor}'`;
    super(`${where}: ${reason} [${code}]`);
    this.name = 'WeightsError';
  }
}
