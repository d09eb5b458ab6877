/**
 * The [to, from] matrix onnxruntime's Resize applies along one axis (Resize is separable and
 * linear in its input), computed at build time for the gradient. Covers modes nearest (floor)
 * and linear with the half_pixel, asymmetric and align_corners coordinate transforms.
 */
export function interpolationMatrix(
  from: number,
  to: number,
  mode: 'nearest' | 'linear',
  coordinates: string,
): Float64Array | undefined {
  if (from === to) return undefined;
  const scale = to / from;
  const source = (o: number): number => {
    if (coordinates === 'align_corners') return to === 1 ? 0 : (o * (from - 1)) / (to - 1);
    if (coordinates === 'asymmetric') return o / scale;
    return (o + 0.5) / scale - 0.5;
  };
  const matrix = new Float64Array(to * from);
  for (let o = 0; o < to; o++) {
    const s = Math.min(Math.max(source(o), 0), from - 1);
    if (mode === 'nearest') {
      matrix[o * from + Math.floor(s)] = 1;
      continue;
    }
    const low = Math.floor(s);
    const high = Math.min(low + 1, from - 1);
    const frac = s - low;
    matrix[o * from + low]! += 1 - frac;
    matrix[o * from + high]! += frac;
  }
  return matrix;
}
