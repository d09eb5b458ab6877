import { describe, expect, it } from 'vitest';
import { SampleFormatError } from '../../src/formats/errors.ts';
import {
  type NumpyArray,
  PICKLE_LIMITS,
  PickleTuple,
  type PickleValue,
  pickle,
  unpickle,
} from '../../src/formats/pickle.ts';

/**
 * What CPython 3 writes for {'prompt': 'a cat', 'points': [[1, 0], [2, 1]], 'mask': uint8 array
 * [[0, 1, 1], [0, 0, 1]]} with pickle.dumps(..., protocol=4): the DragBench layout (MEMOIZE after
 * every object, BINGET for the second 'numpy'). Produced with stand-in numpy classes whose
 * __reduce__ returns what numpy's does.
 */
const PYTHON_PICKLE = new Uint8Array(
  Buffer.from(
    '800495c9000000000000007d94288c0670726f6d7074948c056120636174948c06706f696e7473945d94285d94284b014b0065' +
      '5d94284b024b0165658c046d61736b948c156e756d70792e636f72652e6d756c74696172726179948c0c5f7265636f6e7374' +
      '727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b024b038694680b' +
      '8c0564747970659493948c02753194898887945294284b038c017c944e4e4e4affffffff4affffffff4b0074946289430600' +
      '010100000194749462752e',
    'hex',
  ),
);

function withByte(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = value;
  return copy;
}

function pickleError(bytes: Uint8Array): SampleFormatError {
  try {
    unpickle(bytes, { source: 'meta.pkl' });
  } catch (error) {
    if (error instanceof SampleFormatError) return error;
    throw error;
  }
  throw new Error('expected unpickle to fail');
}

/** PROTO 4, then the given opcodes and STOP. */
function protocol4(...body: number[]): Uint8Array {
  return Uint8Array.of(0x80, 4, ...body, 0x2e);
}

function shortString(text: string): number[] {
  return [0x8c, text.length, ...Buffer.from(text, 'ascii')];
}

describe('unpickle', () => {
  it('reads the dict, lists and numpy array Python writes', () => {
    const value = unpickle(PYTHON_PICKLE);
    expect(value).toEqual(
      new Map<string, PickleValue>([
        ['prompt', 'a cat'],
        [
          'points',
          [
            [1, 0],
            [2, 1],
          ],
        ],
        [
          'mask',
          {
            kind: 'ndarray',
            dtype: 'uint8',
            shape: [2, 3],
            fortranOrder: false,
            data: Uint8Array.of(0, 1, 1, 0, 0, 1),
          },
        ],
      ]),
    );
  });

  it('fails on every truncation of a valid pickle with pickle_malformed', () => {
    const codes = new Set<string>();
    for (let length = 0; length < PYTHON_PICKLE.length; length++) {
      codes.add(pickleError(PYTHON_PICKLE.subarray(0, length)).code);
    }
    expect([...codes]).toEqual(['pickle_malformed']);
    expect(pickleError(PYTHON_PICKLE.subarray(0, 150)).message).toBe(
      'pickle_malformed: meta.pkl at byte 2: FRAME of 201 bytes runs past the end of the file',
    );
    // Without a frame the reader runs into the end itself: NONE, then no STOP.
    expect(pickleError(Uint8Array.of(0x80, 4, 0x4e)).message).toBe(
      'pickle_malformed: meta.pkl at byte 3: truncated: opcode or argument needs 1 bytes, 0 left',
    );
  });

  it('names an unknown opcode and its offset', () => {
    // Offset 141 holds BININT1 1 (the array state's version); 0xff is no opcode at all.
    const error = pickleError(withByte(PYTHON_PICKLE, 141, 0xff));
    expect(error.code).toBe('pickle_unsupported');
    expect(error.offset).toBe(141);
    expect(error.message).toContain("opcode 0xff ('ÿ') is not supported");
  });

  it('refuses opcodes outside the supported set even when Python knows them', () => {
    // BINFLOAT (G) 1.5: valid Python, but DragBench files hold no floats.
    const error = pickleError(protocol4(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0));
    expect(error.message).toBe("pickle_unsupported: meta.pkl at byte 2: opcode 0x47 ('G') is not supported");
  });

  it('refuses globals outside the numpy whitelist, by STACK_GLOBAL or GLOBAL', () => {
    const stackGlobal = pickleError(protocol4(...shortString('os'), ...shortString('system'), 0x93));
    expect(stackGlobal.code).toBe('pickle_unsupported');
    expect(stackGlobal.offset).toBe(14);
    expect(stackGlobal.message).toContain('global os.system is not allowed');
    const global = pickleError(protocol4(0x63, ...Buffer.from('posix\nsystem\n', 'ascii')));
    expect(global.message).toContain('byte 2: global posix.system is not allowed');
  });

  it('refuses numpy dtypes other than one-byte ones', () => {
    // 'u1' -> 'f4' at offsets 163-164.
    const float32 = PYTHON_PICKLE.slice();
    float32.set(Buffer.from('f4', 'ascii'), 163);
    const error = pickleError(float32);
    expect(error.code).toBe('pickle_unsupported');
    expect(error.offset).toBe(170);
    expect(error.message).toContain(
      'numpy.dtype arguments must be (code, False, True) with code in u1, i1, b1',
    );
  });

  it('refuses an array whose data does not fill its shape', () => {
    // Shape (2, 3) -> (2, 4) at offset 146; the data stays 6 bytes.
    const error = pickleError(withByte(PYTHON_PICKLE, 146, 4));
    expect(error.code).toBe('pickle_malformed');
    expect(error.offset).toBe(209);
    expect(error.message).toContain('ndarray of shape (2, 4) needs 8 bytes of data, found 6');
  });

  it('refuses other protocols, missing memo entries and bytes after STOP', () => {
    expect(pickleError(Uint8Array.of(0x80, 5, 0x4e, 0x2e)).message).toContain(
      'pickle protocol 5 is not supported',
    );
    expect(pickleError(Uint8Array.of(0x4e, 0x2e)).message).toContain('expected PROTO (0x80) first');
    expect(pickleError(protocol4(0x68, 3)).message).toBe(
      'pickle_malformed: meta.pkl at byte 2: memo entry 3 was never stored',
    );
    expect(pickleError(Uint8Array.of(...protocol4(0x4e), 0)).message).toContain(
      '1 unexpected bytes after STOP',
    );
  });

  it('enforces its documented limits on size and nesting', () => {
    const oversized = pickleError(new Uint8Array(PICKLE_LIMITS.maxBytes + 1));
    expect(oversized.message).toBe(
      `pickle_unsupported: meta.pkl at byte 0: pickle is ${64 * 1024 * 1024 + 1} bytes, over the limit of ${64 * 1024 * 1024}`,
    );
    const deep = pickleError(protocol4(...new Array(PICKLE_LIMITS.maxMarkDepth + 1).fill(0x28)));
    expect(deep.message).toBe('pickle_unsupported: meta.pkl at byte 66: MARKs nested deeper than 64');
  });

  it('refuses stack underflow and a bare numpy global as a value', () => {
    expect(pickleError(protocol4(0x85)).message).toBe(
      'pickle_malformed: meta.pkl at byte 2: TUPLE1 (0x85) needs more items than the stack holds',
    );
    const bareGlobal = pickleError(protocol4(...shortString('numpy'), ...shortString('dtype'), 0x93));
    expect(bareGlobal.message).toContain(
      'the pickled object is a numpy global or dtype, expected a plain value',
    );
  });
});

describe('pickle', () => {
  it('round-trips every supported value through the reader', () => {
    const bigMask: NumpyArray = {
      kind: 'ndarray',
      dtype: 'uint8',
      shape: [300, 400],
      fortranOrder: false,
      data: Uint8Array.from({ length: 120_000 }, (_, i) => (i * 31) % 2),
    };
    const value = new Map<string, PickleValue>([
      ['ints', [0, 255, 256, 65_535, 65_536, -1, -(2 ** 31), 2 ** 31 - 1]],
      ['constants', [null, true, false]],
      ['short', 'a photo of a dog'],
      ['long', 'é'.repeat(300)],
      ['one', [[7, 8]]],
      ['many', Array.from({ length: 2500 }, (_, i) => i)],
      ['tuples', [new PickleTuple([]), new PickleTuple([1]), new PickleTuple([1, 'a', null, [2], 5])]],
      ['bytes', [Uint8Array.of(1, 2), new Uint8Array(1000).fill(3), new Uint8Array(70_000).fill(4)]],
      ['mask', bigMask],
      [
        'flags',
        {
          kind: 'ndarray',
          dtype: 'bool',
          shape: [2, 1, 2],
          fortranOrder: true,
          data: Uint8Array.of(1, 0, 0, 1),
        },
      ],
      ['again', 'a photo of a dog'],
    ]);
    expect(unpickle(pickle(value))).toEqual(value);
  });

  it('writes the DragBench layout, one MEMOIZE byte shorter per non-string object', () => {
    const value = unpickle(PYTHON_PICKLE);
    const written = pickle(value);
    // Python memoizes all 28 objects; the writer memoizes its 11 strings, the only ones it reuses.
    expect(PYTHON_PICKLE.length).toBe(212);
    expect(written.length).toBe(212 - (28 - 11));
    expect(unpickle(written)).toEqual(value);
  });

  it('refuses integers beyond 32 bits and arrays whose data does not fill their shape', () => {
    expect(() => pickle(2 ** 31)).toThrow('cannot pickle 2147483648: only 32-bit integers are supported');
    expect(() => pickle(0.5)).toThrow('cannot pickle 0.5');
    expect(() =>
      pickle({
        kind: 'ndarray',
        dtype: 'uint8',
        shape: [2, 2],
        fortranOrder: false,
        data: new Uint8Array(3),
      }),
    ).toThrow('cannot pickle an array of shape (2, 2) from 3 bytes');
  });
});
