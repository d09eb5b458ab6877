/**
 * A small, strict reader and writer for the Python pickles found in DragBench's meta_data.pkl:
 * a dict of str, int, lists of ints, and one numpy array of a one-byte dtype.
 *
 * The reader executes no code. It knows exactly the opcodes Python 3 emits for those values at
 * protocols 2 to 4 and exactly three globals (numpy's array reconstructor, ndarray and dtype), and
 * fails on anything else with the opcode or global name and its byte offset.
 * The writer emits the same opcode shapes as Python's pickler at protocol 4, so files it writes
 * read back in Python (`pickle.load`) and here alike.
 */
import { SampleFormatError } from './errors.ts';

/** Limits that bound the reader's work and memory. */
export const PICKLE_LIMITS = {
  /** Largest pickle accepted, in bytes (a 4096 x 4096 uint8 mask is 16 MiB). */
  maxBytes: 64 * 1024 * 1024,
  /** Deepest nesting of MARKs (open tuples/lists/dicts being filled). */
  maxMarkDepth: 64,
  /** Most dimensions of a numpy array. */
  maxDimensions: 8,
} as const;

/** A Python tuple; kept apart from lists so that values round-trip. */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** numpy dtypes this reader accepts: one-byte types, so byte order never matters. */
export type NumpyDtype = 'uint8' | 'int8' | 'bool';

export interface NumpyArray {
  kind: 'ndarray';
  dtype: NumpyDtype;
  shape: number[];
  /** Column-major element order (numpy's `fortran_order`); false for the usual row-major order. */
  fortranOrder: boolean;
  /** The raw element bytes, one per element. */
  data: Uint8Array;
}

export type PickleDict = Map<string, PickleValue>;

export type PickleValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | NumpyArray;

export function isNumpyArray(value: PickleValue | undefined): value is NumpyArray {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'ndarray';
}

/** numpy's type code (as in `dtype('u1')`) for each accepted dtype. */
const DTYPE_CODES: Record<NumpyDtype, string> = { uint8: 'u1', int8: 'i1', bool: 'b1' };

/** numpy's dtype state (version 3, no byte order, no subarray/fields, default size/alignment/flags). */
const DTYPE_STATE = [3, '|', null, null, null, -1, -1, 0] as const;

const RECONSTRUCT_MODULES = ['numpy.core.multiarray', 'numpy._core.multiarray'];

const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  EMPTY_TUPLE: 0x29, // )
  EMPTY_LIST: 0x5d, // ]
  EMPTY_DICT: 0x7d, // }
  APPEND: 0x61, // a
  APPENDS: 0x65, // e
  SETITEM: 0x73, // s
  SETITEMS: 0x75, // u
  TUPLE: 0x74, // t
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  BINUNICODE: 0x58, // X
  SHORT_BINUNICODE: 0x8c,
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
  GLOBAL: 0x63, // c
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52, // R
  BUILD: 0x62, // b
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  MEMOIZE: 0x94,
  PROTO: 0x80,
  FRAME: 0x95,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

/** Python's pickler writes bytes objects this large outside frames (pickle._FRAME_SIZE_TARGET). */
const FRAME_SIZE_TARGET = 64 * 1024;
/** Python's pickler fills lists and dicts in batches of this many items (pickle._BATCHSIZE). */
const BATCH_SIZE = 1000;

// ---------------------------------------------------------------------------------------------
// Reader

/** A whitelisted global: numpy's `_reconstruct`, `ndarray` or `dtype`. */
class GlobalRef {
  constructor(readonly name: '_reconstruct' | 'ndarray' | 'dtype') {}
}

/** `dtype(code, False, True)` before and after its BUILD. */
class DtypeRef {
  built = false;
  constructor(readonly dtype: NumpyDtype) {}
}

/** `_reconstruct(ndarray, (0,), b'b')`: an empty array that BUILD fills. */
class ArrayRef {
  array: NumpyArray | undefined;
}

/** A tuple while unpickling: it may hold globals and dtypes (call arguments, states). */
class RawTuple {
  constructor(readonly items: StackItem[]) {}
}

type StackItem = PickleValue | GlobalRef | DtypeRef | ArrayRef | RawTuple;

export interface UnpickleOptions {
  /** Named in error messages (usually the file path). */
  source?: string;
}

/** Reads one pickle; throws SampleFormatError (pickle_malformed / pickle_unsupported) on anything else. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PickleValue {
  return new Unpickler(bytes, options.source).run();
}

class Unpickler {
  private pos = 0;
  /** Offset of the opcode being executed, for error messages. */
  private opStart = 0;
  private stack: StackItem[] = [];
  private marks: number[] = [];
  private memo = new Map<number, StackItem>();
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): PickleValue {
    if (this.bytes.length > PICKLE_LIMITS.maxBytes) {
      throw this.error(
        'pickle_unsupported',
        `pickle is ${this.bytes.length} bytes, over the limit of ${PICKLE_LIMITS.maxBytes}`,
      );
    }
    this.readProtocol();
    for (;;) {
      this.opStart = this.pos;
      const code = this.u8();
      if (code === OP.STOP) return this.finish();
      this.execute(code);
    }
  }

  private readProtocol(): void {
    if (this.bytes.length === 0) throw this.error('pickle_malformed', 'empty file, expected a pickle');
    const code = this.u8();
    if (code !== OP.PROTO) {
      throw this.error(
        'pickle_unsupported',
        `expected PROTO (0x80) first, found ${opName(code)}: protocols 0 and 1 are not supported`,
      );
    }
    const version = this.u8();
    if (version < 2 || version > 4)
      throw this.error('pickle_unsupported', `pickle protocol ${version} is not supported (2 to 4 are)`);
  }

  private finish(): PickleValue {
    if (this.marks.length > 0) throw this.error('pickle_malformed', 'STOP with an unclosed MARK');
    if (this.stack.length !== 1)
      throw this.error('pickle_malformed', `STOP with ${this.stack.length} items on the stack, expected 1`);
    if (this.pos !== this.bytes.length) {
      throw this.error('pickle_malformed', `${this.bytes.length - this.pos} unexpected bytes after STOP`);
    }
    return this.toValue(this.pop(), 'the pickled object');
  }

  private execute(code: number): void {
    switch (code) {
      case OP.FRAME: {
        // A frame only groups the following opcodes for buffering; check its length and read on.
        const length = this.u64();
        if (length > this.bytes.length - this.pos)
          throw this.error('pickle_malformed', `FRAME of ${length} bytes runs past the end of the file`);
        break;
      }
      case OP.MARK:
        if (this.marks.length >= PICKLE_LIMITS.maxMarkDepth) {
          throw this.error('pickle_unsupported', `MARKs nested deeper than ${PICKLE_LIMITS.maxMarkDepth}`);
        }
        this.marks.push(this.stack.length);
        break;
      case OP.NONE:
        this.push(null);
        break;
      case OP.NEWTRUE:
        this.push(true);
        break;
      case OP.NEWFALSE:
        this.push(false);
        break;
      case OP.BININT1:
        this.push(this.u8());
        break;
      case OP.BININT2:
        this.push(this.u16());
        break;
      case OP.BININT:
        this.push(this.i32());
        break;
      case OP.SHORT_BINUNICODE:
        this.push(this.text(this.u8()));
        break;
      case OP.BINUNICODE:
        this.push(this.text(this.u32()));
        break;
      case OP.SHORT_BINBYTES:
        this.push(this.slice(this.u8(), 'bytes'));
        break;
      case OP.BINBYTES:
        this.push(this.slice(this.u32(), 'bytes'));
        break;
      case OP.EMPTY_LIST:
        this.push([]);
        break;
      case OP.EMPTY_DICT:
        this.push(new Map());
        break;
      case OP.EMPTY_TUPLE:
        this.push(new RawTuple([]));
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const count = code - OP.TUPLE1 + 1;
        if (this.stack.length - this.floor() < count) throw this.underflow();
        this.push(new RawTuple(this.stack.splice(this.stack.length - count, count)));
        break;
      }
      case OP.TUPLE:
        this.push(new RawTuple(this.popMark()));
        break;
      case OP.APPEND: {
        const item = this.pop();
        this.appendTo(this.top(), [item]);
        break;
      }
      case OP.APPENDS: {
        const items = this.popMark();
        this.appendTo(this.top(), items);
        break;
      }
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        this.setItems(this.top(), items);
        break;
      }
      case OP.MEMOIZE:
        this.memo.set(this.memo.size, this.top());
        break;
      case OP.BINPUT:
        this.memo.set(this.u8(), this.top());
        break;
      case OP.LONG_BINPUT:
        this.memo.set(this.u32(), this.top());
        break;
      case OP.BINGET:
        this.push(this.recall(this.u8()));
        break;
      case OP.LONG_BINGET:
        this.push(this.recall(this.u32()));
        break;
      case OP.GLOBAL: {
        const module = this.line();
        this.push(this.global(module, this.line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw this.error(
            'pickle_malformed',
            'STACK_GLOBAL expects a module name and a global name (two strings)',
          );
        }
        this.push(this.global(module, name));
        break;
      }
      case OP.REDUCE: {
        const args = this.pop();
        this.push(this.reduce(this.pop(), args));
        break;
      }
      case OP.BUILD: {
        const state = this.pop();
        this.build(this.top(), state);
        break;
      }
      default:
        throw this.error('pickle_unsupported', `opcode ${opName(code)} is not supported`);
    }
  }

  private global(module: string, name: string): GlobalRef {
    if (name === '_reconstruct' && RECONSTRUCT_MODULES.includes(module)) return new GlobalRef(name);
    if (module === 'numpy' && (name === 'ndarray' || name === 'dtype')) return new GlobalRef(name);
    throw this.error(
      'pickle_unsupported',
      `global ${module}.${name} is not allowed (only numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype)`,
    );
  }

  /** Calls a whitelisted global, accepting only the exact arguments numpy pickles with. */
  private reduce(callable: StackItem, args: StackItem): StackItem {
    if (!(callable instanceof GlobalRef))
      throw this.error('pickle_unsupported', 'REDUCE of something that is not a global');
    if (!(args instanceof RawTuple)) throw this.error('pickle_malformed', 'REDUCE arguments are not a tuple');
    const [first, second, third] = args.items;
    if (callable.name === 'dtype') {
      const dtype = dtypeFromCode(first);
      if (args.items.length !== 3 || dtype === undefined || second !== false || third !== true) {
        throw this.error(
          'pickle_unsupported',
          `numpy.dtype arguments must be (code, False, True) with code in ${Object.values(DTYPE_CODES).join(', ')}`,
        );
      }
      return new DtypeRef(dtype);
    }
    if (callable.name === '_reconstruct') {
      const isEmptyShape = second instanceof RawTuple && second.items.length === 1 && second.items[0] === 0;
      const isByteCode = third instanceof Uint8Array && third.length === 1 && third[0] === 0x62; // b'b'
      if (
        args.items.length !== 3 ||
        !(first instanceof GlobalRef && first.name === 'ndarray') ||
        !isEmptyShape ||
        !isByteCode
      ) {
        throw this.error('pickle_unsupported', "_reconstruct arguments must be (numpy.ndarray, (0,), b'b')");
      }
      return new ArrayRef();
    }
    throw this.error('pickle_unsupported', `numpy.${callable.name} cannot be called`);
  }

  private build(target: StackItem, state: StackItem): void {
    if (!(state instanceof RawTuple)) throw this.error('pickle_unsupported', 'BUILD state is not a tuple');
    if (target instanceof DtypeRef && !target.built) {
      this.checkDtypeState(state.items);
      target.built = true;
      return;
    }
    if (target instanceof ArrayRef && target.array === undefined) {
      target.array = this.arrayFromState(state.items);
      this.stack[this.stack.length - 1] = target.array;
      return;
    }
    throw this.error('pickle_unsupported', 'BUILD applies only to a new numpy dtype or array');
  }

  /** numpy's dtype state for a one-byte type: (3, '|', None, None, None, -1, -1, 0). */
  private checkDtypeState(items: StackItem[]): void {
    if (items.length !== DTYPE_STATE.length || items.some((item, i) => item !== DTYPE_STATE[i])) {
      throw this.error(
        'pickle_unsupported',
        "dtype state must be (3, '|', None, None, None, -1, -1, 0), a plain one-byte dtype",
      );
    }
  }

  /** numpy's array state: (1, shape, dtype, fortran_order, raw bytes). */
  private arrayFromState(items: StackItem[]): NumpyArray {
    const [version, shape, dtype, fortranOrder, data] = items;
    if (items.length !== 5 || version !== 1)
      throw this.error('pickle_unsupported', 'ndarray state must be (1, shape, dtype, fortran_order, bytes)');
    if (!(shape instanceof RawTuple) || shape.items.length > PICKLE_LIMITS.maxDimensions) {
      throw this.error(
        'pickle_unsupported',
        `ndarray shape must be a tuple of at most ${PICKLE_LIMITS.maxDimensions} sizes`,
      );
    }
    const sizes = shape.items.map((size) => {
      if (typeof size !== 'number' || size < 0)
        throw this.error('pickle_malformed', 'ndarray shape holds something other than a size >= 0');
      return size;
    });
    if (!(dtype instanceof DtypeRef && dtype.built))
      throw this.error('pickle_unsupported', 'ndarray dtype is not a built numpy.dtype');
    if (typeof fortranOrder !== 'boolean')
      throw this.error('pickle_malformed', 'ndarray fortran_order is not a bool');
    if (!(data instanceof Uint8Array))
      throw this.error(
        'pickle_unsupported',
        'ndarray data is not raw bytes (object arrays are not supported)',
      );
    const count = sizes.reduce((product, size) => product * size, 1);
    if (count !== data.length) {
      throw this.error(
        'pickle_malformed',
        `ndarray of shape (${sizes.join(', ')}) needs ${count} bytes of data, found ${data.length}`,
      );
    }
    return { kind: 'ndarray', dtype: dtype.dtype, shape: sizes, fortranOrder, data };
  }

  private appendTo(list: StackItem, items: StackItem[]): void {
    if (!Array.isArray(list)) throw this.error('pickle_unsupported', 'APPEND(S) target is not a list');
    for (const item of items) list.push(this.toValue(item, 'a list item'));
  }

  private setItems(dict: StackItem, items: StackItem[]): void {
    if (!(dict instanceof Map)) throw this.error('pickle_unsupported', 'SETITEM(S) target is not a dict');
    if (items.length % 2 !== 0) throw this.error('pickle_malformed', 'SETITEMS with a key and no value');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key !== 'string') throw this.error('pickle_unsupported', 'dict keys must be strings');
      if (dict.has(key)) throw this.error('pickle_malformed', `dict key '${key}' appears twice`);
      dict.set(key, this.toValue(items[i + 1] ?? null, `dict value '${key}'`));
    }
  }

  /** Turns a stack item into a plain value; numpy internals may only appear inside call arguments. */
  private toValue(item: StackItem, what: string): PickleValue {
    if (item instanceof RawTuple)
      return new PickleTuple(item.items.map((inner) => this.toValue(inner, what)));
    if (item instanceof GlobalRef || item instanceof DtypeRef) {
      throw this.error('pickle_unsupported', `${what} is a numpy global or dtype, expected a plain value`);
    }
    if (item instanceof ArrayRef) {
      if (item.array === undefined)
        throw this.error('pickle_malformed', `${what} is a numpy array that was never built`);
      return item.array;
    }
    return item;
  }

  private recall(index: number): StackItem {
    const item = this.memo.get(index);
    if (item === undefined) throw this.error('pickle_malformed', `memo entry ${index} was never stored`);
    return item instanceof ArrayRef && item.array !== undefined ? item.array : item;
  }

  // Stack helpers.

  private floor(): number {
    return this.marks.at(-1) ?? 0;
  }

  private push(item: StackItem): void {
    this.stack.push(item);
  }

  private pop(): StackItem {
    if (this.stack.length <= this.floor()) throw this.underflow();
    return this.stack.pop() as StackItem;
  }

  private top(): StackItem {
    if (this.stack.length <= this.floor()) throw this.underflow();
    return this.stack[this.stack.length - 1] as StackItem;
  }

  private popMark(): StackItem[] {
    const mark = this.marks.pop();
    if (mark === undefined)
      throw this.error('pickle_malformed', `${opName(this.bytes[this.opStart] ?? 0)} without a MARK`);
    return this.stack.splice(mark);
  }

  private underflow(): SampleFormatError {
    return this.error(
      'pickle_malformed',
      `${opName(this.bytes[this.opStart] ?? 0)} needs more items than the stack holds`,
    );
  }

  // Byte helpers.

  /** Advances over `count` bytes, failing if the file ends first. */
  private take(count: number, what: string): void {
    if (count > this.bytes.length - this.pos) {
      throw this.error(
        'pickle_malformed',
        `truncated: ${what} needs ${count} bytes, ${this.bytes.length - this.pos} left`,
      );
    }
    this.pos += count;
  }

  private u8(): number {
    this.take(1, 'opcode or argument');
    return this.bytes[this.pos - 1] as number;
  }

  private u16(): number {
    this.take(2, 'integer');
    return this.view.getUint16(this.pos - 2, true);
  }

  private i32(): number {
    this.take(4, 'integer');
    return this.view.getInt32(this.pos - 4, true);
  }

  private u32(): number {
    this.take(4, 'length');
    return this.view.getUint32(this.pos - 4, true);
  }

  private u64(): number {
    this.take(8, 'frame length');
    return Number(this.view.getBigUint64(this.pos - 8, true));
  }

  private slice(length: number, what: string): Uint8Array {
    this.take(length, what);
    return this.bytes.slice(this.pos - length, this.pos);
  }

  private text(length: number): string {
    const raw = this.slice(length, 'string');
    try {
      return this.utf8.decode(raw);
    } catch {
      throw this.error('pickle_malformed', 'string is not valid UTF-8');
    }
  }

  /** A newline-terminated ASCII argument (GLOBAL's module and name). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw this.error('pickle_malformed', 'truncated: GLOBAL name has no newline');
    const text = String.fromCharCode(...this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  private error(code: 'pickle_malformed' | 'pickle_unsupported', reason: string): SampleFormatError {
    const location = { offset: this.opStart, ...(this.source === undefined ? {} : { file: this.source }) };
    return new SampleFormatError(code, reason, location);
  }
}

function dtypeFromCode(code: StackItem | undefined): NumpyDtype | undefined {
  return (Object.keys(DTYPE_CODES) as NumpyDtype[]).find((dtype) => DTYPE_CODES[dtype] === code);
}

function opName(code: number): string {
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  const name = OP_NAMES.get(code);
  return name === undefined ? `${hex} ('${String.fromCharCode(code)}')` : `${name} (${hex})`;
}

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * Writes `value` as a protocol-4 pickle with the opcodes Python's pickler uses for it.
 * Integers must fit in 32 bits; other values map as in PickleValue.
 */
export function pickle(value: PickleValue): Uint8Array {
  const writer = new PickleWriter();
  writer.value(value);
  return writer.finish();
}

class PickleWriter {
  /** Finished pieces of output; small opcodes are grouped into FRAMEs, large bytes are not. */
  private readonly pieces: Uint8Array[] = [Uint8Array.of(OP.PROTO, 4)];
  private frame: number[] = [];
  private readonly memo = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  finish(): Uint8Array {
    this.frame.push(OP.STOP);
    this.commitFrame();
    return concat(this.pieces);
  }

  value(value: PickleValue): void {
    if (value === null) this.op(OP.NONE);
    else if (typeof value === 'boolean') this.op(value ? OP.NEWTRUE : OP.NEWFALSE);
    else if (typeof value === 'number') this.integer(value);
    else if (typeof value === 'string') this.string(value);
    else if (value instanceof Uint8Array) this.bytes(value);
    else if (Array.isArray(value)) this.list(value);
    else if (value instanceof PickleTuple) this.tuple(value.items);
    else if (value instanceof Map) this.dict(value);
    else this.ndarray(value);
  }

  private integer(value: number): void {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new SampleFormatError(
        'pickle_unsupported',
        `cannot pickle ${value}: only 32-bit integers are supported`,
      );
    }
    if (value >= 0 && value < 0x100) this.op(OP.BININT1, value);
    else if (value >= 0 && value < 0x10000) this.op(OP.BININT2, value & 0xff, value >> 8);
    else this.op(OP.BININT, ...littleEndian32(value));
  }

  private string(value: string): void {
    const memoIndex = this.memo.get(value);
    if (memoIndex !== undefined) {
      if (memoIndex < 0x100) this.op(OP.BINGET, memoIndex);
      else this.op(OP.LONG_BINGET, ...littleEndian32(memoIndex));
      return;
    }
    const utf8 = this.encoder.encode(value);
    if (utf8.length < 0x100) this.op(OP.SHORT_BINUNICODE, utf8.length);
    else this.op(OP.BINUNICODE, ...littleEndian32(utf8.length));
    this.append(utf8);
    this.op(OP.MEMOIZE);
    this.memo.set(value, this.memo.size);
  }

  private bytes(value: Uint8Array): void {
    if (value.length < 0x100) {
      this.op(OP.SHORT_BINBYTES, value.length);
      this.append(value);
    } else if (value.length < FRAME_SIZE_TARGET) {
      this.op(OP.BINBYTES, ...littleEndian32(value.length));
      this.append(value);
    } else {
      // Like Python: close the frame, then write the header and payload unframed.
      this.commitFrame();
      this.pieces.push(Uint8Array.of(OP.BINBYTES, ...littleEndian32(value.length)), value.slice());
    }
  }

  private list(items: PickleValue[]): void {
    this.op(OP.EMPTY_LIST);
    this.batches(items, OP.APPEND, OP.APPENDS, (item) => this.value(item));
  }

  private dict(entries: PickleDict): void {
    this.op(OP.EMPTY_DICT);
    this.batches([...entries], OP.SETITEM, OP.SETITEMS, ([key, item]) => {
      this.string(key);
      this.value(item);
    });
  }

  /** Python appends a batch of one with APPEND/SETITEM and larger batches with MARK ... APPENDS/SETITEMS. */
  private batches<T>(items: T[], single: number, many: number, write: (item: T) => void): void {
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      const batch = items.slice(start, start + BATCH_SIZE);
      if (batch.length > 1) this.op(OP.MARK);
      for (const item of batch) write(item);
      this.op(batch.length > 1 ? many : single);
    }
  }

  private tuple(items: readonly PickleValue[]): void {
    if (items.length === 0) {
      this.op(OP.EMPTY_TUPLE);
      return;
    }
    if (items.length > 3) this.op(OP.MARK);
    for (const item of items) this.value(item);
    this.op(items.length > 3 ? OP.TUPLE : OP.TUPLE1 + items.length - 1);
  }

  /** `_reconstruct(ndarray, (0,), b'b')`, then BUILD with (1, shape, dtype, fortran_order, bytes). */
  private ndarray(array: NumpyArray): void {
    const count = array.shape.reduce((product, size) => product * size, 1);
    if (count !== array.data.length) {
      throw new SampleFormatError(
        'pickle_unsupported',
        `cannot pickle an array of shape (${array.shape.join(', ')}) from ${array.data.length} bytes`,
      );
    }
    this.global('numpy.core.multiarray', '_reconstruct');
    this.global('numpy', 'ndarray');
    this.tuple([0]);
    this.bytes(Uint8Array.of(0x62));
    this.op(OP.TUPLE3, OP.REDUCE, OP.MARK);
    this.integer(1);
    this.tuple(array.shape);
    this.global('numpy', 'dtype');
    this.string(DTYPE_CODES[array.dtype]);
    this.op(OP.NEWFALSE, OP.NEWTRUE, OP.TUPLE3, OP.REDUCE, OP.MARK);
    for (const item of DTYPE_STATE) this.value(item);
    this.op(OP.TUPLE, OP.BUILD);
    this.value(array.fortranOrder);
    this.bytes(array.data);
    this.op(OP.TUPLE, OP.BUILD);
  }

  private global(module: string, name: string): void {
    this.string(module);
    this.string(name);
    this.op(OP.STACK_GLOBAL);
  }

  private op(...codes: number[]): void {
    this.frame.push(...codes);
  }

  private append(bytes: Uint8Array): void {
    for (const byte of bytes) this.frame.push(byte);
  }

  private commitFrame(): void {
    if (this.frame.length === 0) return;
    const header = new Uint8Array(9);
    header[0] = OP.FRAME;
    new DataView(header.buffer).setBigUint64(1, BigInt(this.frame.length), true);
    this.pieces.push(header, Uint8Array.from(this.frame));
    this.frame = [];
  }
}

function littleEndian32(value: number): number[] {
  return [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff];
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
