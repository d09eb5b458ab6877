/**
 * Format, width and height from the first bytes of a PNG, JPEG or WebP file, in pure
 * TypeScript (no Node APIs) so a Worker can check a declared type or size without decoding.
 */

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export const MEDIA_TYPES: Readonly<Record<ImageFormat, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export interface ImageInfo {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
}

/** Enough bytes to recognise any of the three formats by its signature. */
export const SIGNATURE_BYTES = 12;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function u16be(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

function u32be(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

function u24le(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16);
}

/** The format named by the file signature, or undefined when it is none of the three. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  return undefined;
}

function pngSize(bytes: Uint8Array): [number, number] | undefined {
  // Signature, then the IHDR chunk: length(4) "IHDR"(4) width(4) height(4).
  if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return undefined;
  return [u32be(bytes, 16), u32be(bytes, 20)];
}

/** Start-of-frame markers C0-CF carry the size, except C4 (DHT), C8 (JPG) and CC (DAC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegSize(bytes: Uint8Array): [number, number] | undefined {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1]!;
    // Fill bytes and standalone markers (TEM, RSTn) have no length field.
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // image data began before any frame header
    const length = u16be(bytes, offset + 2);
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      // Segment: length(2) precision(1) height(2) width(2).
      if (offset + 9 > bytes.length) return undefined;
      return [u16be(bytes, offset + 7), u16be(bytes, offset + 5)];
    }
    offset += 2 + length;
  }
  return undefined;
}

function webpSize(bytes: Uint8Array): [number, number] | undefined {
  if (bytes.length < 30) return undefined;
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8X') {
    // Extended format: canvas width-1 and height-1 as 24-bit little-endian at 24 and 27.
    return [u24le(bytes, 24) + 1, u24le(bytes, 27) + 1];
  }
  if (chunk === 'VP8L') {
    // Lossless: signature 0x2f, then width-1 and height-1 as 14-bit fields.
    if (bytes[20] !== 0x2f) return undefined;
    const bits = (bytes[21]! | (bytes[22]! << 8) | (bytes[23]! << 16) | (bytes[24]! << 24)) >>> 0;
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  if (chunk === 'VP8 ') {
    // Lossy: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) return undefined;
    return [(bytes[26]! | (bytes[27]! << 8)) & 0x3fff, (bytes[28]! | (bytes[29]! << 8)) & 0x3fff];
  }
  return undefined;
}

/**
 * Format and size, or undefined when the bytes are not one of the three formats or end before
 * the size field (a JPEG may need its whole header; pass at least the first 64 KiB).
 */
export function readImageInfo(bytes: Uint8Array): ImageInfo | undefined {
  const format = sniffImageFormat(bytes);
  if (!format) return undefined;
  const size = format === 'png' ? pngSize(bytes) : format === 'jpeg' ? jpegSize(bytes) : webpSize(bytes);
  if (!size || size[0] === 0 || size[1] === 0) return undefined;
  return { format, width: size[0], height: size[1] };
}
