import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { base64ByteLength, decodeBase64, inlineImageInfo, parseDataUri } from '../src/image-ref.ts';
import { dataUri, jpegHeader, pngHeader } from './image-bytes.ts';

describe('data URIs', () => {
  it('splits media type and payload, and needs the base64 flag', () => {
    expect(parseDataUri('data:image/png;base64,iVBO')).toEqual({ mediaType: 'image/png', base64: 'iVBO' });
    expect(parseDataUri('data:image/png;name=a.png;base64,AAAA')).toEqual({
      mediaType: 'image/png',
      base64: 'AAAA',
    });
    expect(parseDataUri('data:image/png,rawbytes')).toBeUndefined();
    expect(parseDataUri('https://x.example/a.png')).toBeUndefined();
  });

  it('knows the decoded size from the payload length', () => {
    expect([
      base64ByteLength('AAAA'),
      base64ByteLength('AAA='),
      base64ByteLength('AA=='),
      base64ByteLength(''),
    ]).toEqual([3, 2, 1, 0]);
    const bytes = pngHeader(7, 9);
    expect(base64ByteLength(dataUri('image/png', bytes).split(',')[1]!)).toBe(bytes.length);
  });

  it('decodes only the requested prefix', () => {
    const payload = btoa('abcdefghij');
    expect([...decodeBase64(payload, 4)]).toEqual([...'abcdef'].map((c) => c.charCodeAt(0)));
    expect(decodeBase64(payload)).toHaveLength(10);
  });

  it('reads the size of inline images, including a jpeg header past the first 64 KiB', () => {
    expect(inlineImageInfo({ data: dataUri('image/png', pngHeader(640, 427)) })).toEqual({
      format: 'png',
      width: 640,
      height: 427,
    });
    const bigExif = jpegHeader(300, 200, { exifBytes: 70_000 });
    expect(bigExif.length).toBeGreaterThan(64 * 1024 + 40);
    expect(inlineImageInfo({ data: dataUri('image/jpeg', bigExif) })).toEqual({
      format: 'jpeg',
      width: 300,
      height: 200,
    });
    expect(inlineImageInfo({ upload: 'u' })).toBeUndefined();
  });
});

describe('Workers compatibility', () => {
  it('shared/src uses no Node-only API', () => {
    const dir = new URL('../src/', import.meta.url);
    const offenders = readdirSync(dir).flatMap((file) => {
      const text = readFileSync(new URL(file, dir), 'utf8');
      return /from 'node:|\bBuffer\b|\bprocess\.|\brequire\(/.test(text) ? [file] : [];
    });
    expect(offenders).toEqual([]);
  });
});
