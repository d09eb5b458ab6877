/** Minimal headers of PNG, JPEG and WebP files, enough for format and size sniffing. */

function u16be(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

function u32be(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

function u32le(value: number): number[] {
  return u32be(value).reverse();
}

function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}

export function pngHeader(width: number, height: number): Uint8Array {
  const ihdr = [...u32be(width), ...u32be(height), 8, 0, 0, 0, 0];
  return new Uint8Array([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...u32be(13),
    ...ascii('IHDR'),
    ...ihdr,
    0,
    0,
    0,
    0,
  ]);
}

function jpegSegment(marker: number, payload: number[]): number[] {
  return [0xff, marker, ...u16be(payload.length + 2), ...payload];
}

/** SOI, APP1 blocks holding `exifBytes` in all, a DHT table, then the frame header (SOF0 or SOF2). */
export function jpegHeader(
  width: number,
  height: number,
  options: { exifBytes?: number; progressive?: boolean } = {},
): Uint8Array {
  const app1: number[] = [];
  // A segment length is 16 bits, so large metadata spans several segments.
  for (let left = options.exifBytes ?? 0; left > 0; left -= 60_000) {
    app1.push(...jpegSegment(0xe1, new Array<number>(Math.min(left, 60_000)).fill(7)));
  }
  const dht = jpegSegment(0xc4, [0x00, ...new Array<number>(16).fill(0)]);
  const sof = jpegSegment(options.progressive ? 0xc2 : 0xc0, [
    8,
    ...u16be(height),
    ...u16be(width),
    1,
    1,
    0x11,
    0,
  ]);
  return new Uint8Array([0xff, 0xd8, ...app1, ...dht, ...sof, 0xff, 0xd9]);
}

function riff(chunk: string, payload: number[]): Uint8Array {
  const body = [...ascii('WEBP'), ...ascii(chunk), ...u32le(payload.length), ...payload];
  return new Uint8Array([...ascii('RIFF'), ...u32le(body.length), ...body]);
}

export function webpLossyHeader(width: number, height: number): Uint8Array {
  return riff('VP8 ', [
    0x10,
    0x02,
    0x00,
    0x9d,
    0x01,
    0x2a,
    width & 0xff,
    width >> 8,
    height & 0xff,
    height >> 8,
    0,
    0,
  ]);
}

export function webpLosslessHeader(width: number, height: number): Uint8Array {
  const bits = ((width - 1) | ((height - 1) << 14)) >>> 0;
  return riff('VP8L', [0x2f, ...u32le(bits), 0, 0, 0, 0, 0]);
}

export function webpExtendedHeader(width: number, height: number): Uint8Array {
  const w = width - 1;
  const h = height - 1;
  return riff('VP8X', [0, 0, 0, 0, w & 0xff, (w >> 8) & 0xff, w >> 16, h & 0xff, (h >> 8) & 0xff, h >> 16]);
}

export function dataUri(mediaType: string, bytes: Uint8Array): string {
  return `data:${mediaType};base64,${btoa(String.fromCharCode(...bytes))}`;
}
