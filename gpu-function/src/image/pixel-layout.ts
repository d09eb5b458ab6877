/**
 * How an input image stores its pixels (grey or colour, with or without alpha, 8 or 16 bits per
 * sample), and its pixels in that layout. The model sees 8-bit sRGB; the output is written in the
 * input's own layout so that every pixel the edit does not touch keeps its exact samples
 * (dragflow/composite.ts blends the model's RGB into them, image/encode.ts writes them).
 */
import type { Metadata } from 'sharp';
import type { Size } from '../dragflow/geometry.ts';

export interface PixelLayout {
  grey: boolean;
  alpha: boolean;
  depth: 8 | 16;
}

/** 8-bit RGB without alpha: what the model reads and writes. */
export const RGB8: PixelLayout = Object.freeze({ grey: false, alpha: false, depth: 8 });

/** Pixels in a layout, interleaved, row-major: grey or R, G, B, then alpha when present. */
export interface ImageSamples extends Size {
  layout: PixelLayout;
  data: Uint8Array | Uint16Array;
}

export function channelsOf(layout: PixelLayout): 1 | 2 | 3 | 4 {
  return ((layout.grey ? 1 : 3) + (layout.alpha ? 1 : 0)) as 1 | 2 | 3 | 4;
}

export function isRgb8(layout: PixelLayout): boolean {
  return !layout.grey && !layout.alpha && layout.depth === 8;
}

/** libvips' colour space names for a layout (what sharp converts to before reading or writing samples). */
export function colourSpaceOf(layout: PixelLayout): 'b-w' | 'grey16' | 'srgb' | 'rgb16' {
  if (layout.grey) return layout.depth === 16 ? 'grey16' : 'b-w';
  return layout.depth === 16 ? 'rgb16' : 'srgb';
}

/**
 * The layout an image's header declares. Palette and 1/2/4-bit images count as 8-bit; CMYK and
 * other colour spaces become sRGB; a greyscale image stays grey.
 */
export function layoutFromMetadata(metadata: Metadata): PixelLayout {
  const grey = metadata.space === 'b-w' || metadata.space === 'grey16';
  return { grey, alpha: metadata.hasAlpha === true, depth: metadata.depth === 'ushort' ? 16 : 8 };
}

/** Largest sample value of a layout's depth. */
export function maxSample(layout: PixelLayout): number {
  return layout.depth === 16 ? 65_535 : 255;
}

/**
 * Rec. 601 luma of 8-bit R, G, B (the JPEG/JFIF weights): how the model's colour result becomes a
 * grey sample inside B.
 */
export function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** What writing `layout` as `format` cannot keep, in words (empty when nothing is lost). */
export function formatLosses(layout: PixelLayout, format: 'png' | 'jpeg' | 'webp'): string[] {
  const losses: string[] = [];
  if (format === 'png') return losses;
  if (layout.alpha && format === 'jpeg') losses.push('jpeg has no alpha: transparency flattened onto white');
  if (layout.depth === 16) losses.push(`${format} holds 8 bits per sample: 16-bit samples rounded to 8 bits`);
  if (layout.grey && format === 'webp')
    losses.push('webp has no greyscale mode: written as RGB (grey values)');
  return losses;
}

export function describeLayout(layout: PixelLayout): string {
  return `${layout.grey ? 'greyscale' : 'RGB'}${layout.alpha ? ' + alpha' : ''}, ${layout.depth}-bit`;
}
