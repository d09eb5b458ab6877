import { crc32 } from 'node:zlib';

/** A copy of `png` whose IHDR claims width x height (CRC fixed), so only a header check can refuse it. */
export function claimingSize(png: Uint8Array, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}
