/** The benchmarks' edit: a red ball on a grey-green ground, moved a quarter of the image to the right. */
import type { EditRequest } from '@dragflow/shared/edit-request';
import { encodeImage } from '../src/image/encode.ts';

export async function ballRequest(size: number): Promise<EditRequest> {
  const rgb = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size * 3);
  const c = size * (5 / 16) - 0.5;
  const radius = size / 8;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = Math.hypot(x - c, y - c) <= radius;
      rgb.set(inside ? [215, 45, 40] : [90, 110 + (y * 60) / size, 90], (y * size + x) * 3);
      mask.set(inside ? [255, 255, 255] : [0, 0, 0], (y * size + x) * 3);
    }
  }
  const uri = async (data: Uint8Array) =>
    `data:image/png;base64,${(await encodeImage(data, size, size, { format: 'png' })).toString('base64')}`;
  return {
    image: { data: await uri(rgb) },
    operations: [
      {
        kind: 'relocate',
        source: { mask: { data: await uri(mask) } },
        target: [c + 0.5 + size / 4, c + 0.5],
      },
    ],
    options: { background_compositing: true },
  };
}
