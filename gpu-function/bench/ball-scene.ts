/** The benchmarks' edit: a red ball on a grey-green ground, moved a quarter of the image to the right. */
import type { EditRequest } from '@dragflow/shared/edit-request';
import { encodeImage } from '../src/image/encode.ts';

export async function ballRequest(width: number, height = width): Promise<EditRequest> {
  const rgb = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height * 3);
  const [cx, cy] = [width * (5 / 16) - 0.5, height * (5 / 16) - 0.5];
  const radius = Math.min(width, height) / 8;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = Math.hypot(x - cx, y - cy) <= radius;
      rgb.set(inside ? [215, 45, 40] : [90, 110 + (y * 60) / height, 90], (y * width + x) * 3);
      mask.set(inside ? [255, 255, 255] : [0, 0, 0], (y * width + x) * 3);
    }
  }
  const uri = async (data: Uint8Array) =>
    `data:image/png;base64,${(await encodeImage(data, width, height, { format: 'png' })).toString('base64')}`;
  return {
    image: { data: await uri(rgb) },
    operations: [
      {
        kind: 'relocate',
        source: { mask: { data: await uri(mask) } },
        target: [cx + 0.5 + width / 4, cy + 0.5],
      },
    ],
    options: { background_compositing: true },
  };
}
