import { describe, expect, it } from 'vitest';
import { readImageInfo, sniffImageFormat } from '../src/image-info.ts';
import {
  jpegHeader,
  pngHeader,
  webpExtendedHeader,
  webpLosslessHeader,
  webpLossyHeader,
} from './image-bytes.ts';

describe('readImageInfo', () => {
  it.each([
    ['png', pngHeader(640, 480), { format: 'png', width: 640, height: 480 }],
    ['png wider than 16 bits', pngHeader(70_000, 3), { format: 'png', width: 70_000, height: 3 }],
    ['baseline jpeg', jpegHeader(512, 384), { format: 'jpeg', width: 512, height: 384 }],
    [
      'jpeg with a 3000-byte EXIF block and DHT first',
      jpegHeader(601, 433, { exifBytes: 3000 }),
      { format: 'jpeg', width: 601, height: 433 },
    ],
    [
      'progressive jpeg (SOF2)',
      jpegHeader(17, 9000, { progressive: true }),
      { format: 'jpeg', width: 17, height: 9000 },
    ],
    ['lossy webp (VP8)', webpLossyHeader(550, 430), { format: 'webp', width: 550, height: 430 }],
    ['lossless webp (VP8L)', webpLosslessHeader(16384, 1), { format: 'webp', width: 16384, height: 1 }],
    [
      'extended webp (VP8X)',
      webpExtendedHeader(70_000, 12_345),
      { format: 'webp', width: 70_000, height: 12_345 },
    ],
  ])('reads %s', (_name, bytes, expected) => {
    expect(readImageInfo(bytes)).toEqual(expected);
  });

  it('returns undefined for other formats and for truncated headers', () => {
    const gif = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0]);
    expect(sniffImageFormat(gif)).toBeUndefined();
    expect(readImageInfo(gif)).toBeUndefined();
    expect(readImageInfo(pngHeader(10, 10).subarray(0, 20))).toBeUndefined();
    const jpeg = jpegHeader(10, 10, { exifBytes: 100 });
    expect(sniffImageFormat(jpeg.subarray(0, 3))).toBe('jpeg');
    expect(readImageInfo(jpeg.subarray(0, 60))).toBeUndefined();
    expect(readImageInfo(new Uint8Array(0))).toBeUndefined();
  });

  it('rejects a zero-sized image', () => {
    expect(readImageInfo(pngHeader(0, 10))).toBeUndefined();
  });

  it('recognises each signature from its first 12 bytes', () => {
    expect(sniffImageFormat(pngHeader(1, 1).subarray(0, 12))).toBe('png');
    expect(sniffImageFormat(jpegHeader(1, 1).subarray(0, 12))).toBe('jpeg');
    expect(sniffImageFormat(webpLossyHeader(1, 1).subarray(0, 12))).toBe('webp');
  });
});
