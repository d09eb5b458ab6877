// @ts-check
/**
 * An operation's region: painted (brush, eraser) and lassoed on a canvas the size of the image,
 * read back as a binary mask with the contract's threshold (white above 50% marks the region),
 * sent as a black-and-white PNG. The pure functions below work on that binary mask.
 */

/** @typedef {import('./geometry.js').Point} Point */
/**
 * @typedef {{ area: number, centroid: Point | undefined,
 *   box: { left: number, top: number, right: number, bottom: number } | undefined }} MaskStats
 */

/**
 * 1 where the canvas pixel is painted more than half (alpha >= 128), else 0.
 * @param {Uint8ClampedArray} rgba
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function binaryFromAlpha(rgba) {
  const binary = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < binary.length; i++) binary[i] = rgba[i * 4 + 3] >= 128 ? 1 : 0;
  return binary;
}

/**
 * Area in pixels, centroid (mean of the pixel centres, in the request frame) and bounding box.
 * @param {Uint8Array} binary
 * @param {number} width
 * @returns {MaskStats}
 */
export function maskStats(binary, width) {
  let area = 0;
  let sumX = 0;
  let sumY = 0;
  let left = Number.POSITIVE_INFINITY;
  let top = Number.POSITIVE_INFINITY;
  let right = -1;
  let bottom = -1;
  for (let i = 0; i < binary.length; i++) {
    if (!binary[i]) continue;
    const x = i % width;
    const y = (i - x) / width;
    area++;
    sumX += x;
    sumY += y;
    if (x < left) left = x;
    if (x > right) right = x;
    if (y < top) top = y;
    if (y > bottom) bottom = y;
  }
  if (area === 0) return { area, centroid: undefined, box: undefined };
  return {
    area,
    centroid: [sumX / area + 0.5, sumY / area + 0.5],
    box: { left, top, right: right + 1, bottom: bottom + 1 },
  };
}

/**
 * The region's rim: its pixels within `thickness` steps (4-neighbourhood) of a pixel outside it or
 * of the image edge.
 * @param {Uint8Array} binary
 * @param {number} width
 * @param {number} height
 * @param {number} thickness
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function rimOf(binary, width, height, thickness) {
  const rim = new Uint8Array(binary.length);
  let inner = binary;
  for (let step = 0; step < thickness; step++) {
    const eroded = new Uint8Array(binary.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!inner[i]) continue;
        const interior =
          x > 0 &&
          x < width - 1 &&
          y > 0 &&
          y < height - 1 &&
          inner[i - 1] &&
          inner[i + 1] &&
          inner[i - width] &&
          inner[i + width];
        if (interior) eroded[i] = 1;
        else rim[i] = 1;
      }
    }
    inner = eroded;
  }
  return rim;
}

/**
 * A black-and-white RGBA image of a binary mask (white = region), as the contract's mask images.
 * @param {Uint8Array} binary
 * @returns {Uint8ClampedArray<ArrayBuffer>}
 */
export function maskPixels(binary) {
  const rgba = new Uint8ClampedArray(binary.length * 4);
  for (let i = 0; i < binary.length; i++) {
    const v = binary[i] ? 255 : 0;
    rgba[i * 4] = v;
    rgba[i * 4 + 1] = v;
    rgba[i * 4 + 2] = v;
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/**
 * @param {number} width
 * @param {number} height
 */
function canvasOf(width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/**
 * @param {HTMLCanvasElement} canvas
 * @returns {CanvasRenderingContext2D}
 */
function context(canvas) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas');
  return ctx;
}

/** Rim thickness of the outline, in image pixels per display pixel. */
const RIM_DISPLAY_PX = 2;

export class RegionMask {
  /**
   * @param {number} width
   * @param {number} height
   * @param {string} color CSS colour of this region's overlay and outline
   */
  constructor(width, height, color) {
    this.width = width;
    this.height = height;
    this.color = color;
    /** Painted pixels (alpha); the source of truth. */
    this.paint = canvasOf(width, height);
    /** The region in its colour, for the overlay. */
    this.tinted = canvasOf(width, height);
    /** The region's rim in its colour, for the outline where it goes. */
    this.rim = canvasOf(width, height);
    /** @type {MaskStats} */
    this.stats = { area: 0, centroid: undefined, box: undefined };
    /** Bumped at every change, so an upload of this mask can be reused until it changes. */
    this.version = 0;
    /** The binary mask as of the last settle. */
    this.settled = new Uint8Array(width * height);
  }

  /**
   * Whether a point lies in the region (as of the last settle).
   * @param {Point} point
   */
  contains([x, y]) {
    const column = Math.floor(x);
    const row = Math.floor(y);
    if (column < 0 || row < 0 || column >= this.width || row >= this.height) return false;
    return this.settled[row * this.width + column] === 1;
  }

  /**
   * One brush segment.
   * @param {Point} from
   * @param {Point} to
   * @param {number} size diameter in image pixels
   * @param {boolean} erase
   */
  stroke(from, to, size, erase) {
    const ctx = context(this.paint);
    ctx.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = size;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    // A click without movement still paints a dot.
    ctx.beginPath();
    ctx.arc(to[0], to[1], size / 2, 0, 2 * Math.PI);
    ctx.fill();
    this.#tint();
  }

  /**
   * Adds (or, erasing, removes) the inside of a lasso.
   * @param {Point[]} points
   * @param {boolean} erase
   */
  fillPolygon(points, erase) {
    if (points.length < 3) return;
    const ctx = context(this.paint);
    ctx.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
    ctx.closePath();
    ctx.fill();
    this.#tint();
  }

  clear() {
    context(this.paint).clearRect(0, 0, this.width, this.height);
    this.#tint();
  }

  #tint() {
    const ctx = context(this.tinted);
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(this.paint, 0, 0);
    ctx.globalCompositeOperation = 'source-in';
    ctx.fillStyle = this.color;
    ctx.fillRect(0, 0, this.width, this.height);
    this.version++;
  }

  /** The binary mask as the server will read it. */
  binary() {
    return binaryFromAlpha(context(this.paint).getImageData(0, 0, this.width, this.height).data);
  }

  /**
   * Recomputes area, centroid and the rim (after a stroke ends: it reads every pixel).
   * @param {number} imagePxPerDisplayPx how many image pixels one screen pixel shows
   */
  settle(imagePxPerDisplayPx) {
    const binary = this.binary();
    this.settled = binary;
    this.stats = maskStats(binary, this.width);
    const thickness = Math.max(1, Math.round(RIM_DISPLAY_PX * imagePxPerDisplayPx));
    const rim = rimOf(binary, this.width, this.height, thickness);
    const ctx = context(this.rim);
    const image = ctx.createImageData(this.width, this.height);
    ctx.fillStyle = this.color;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
    for (let i = 0; i < rim.length; i++) {
      if (!rim[i]) continue;
      image.data[i * 4] = r;
      image.data[i * 4 + 1] = g;
      image.data[i * 4 + 2] = b;
      image.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  /**
   * The mask as a PNG the size of the image: white region on black.
   * @returns {Promise<Blob>}
   */
  toPng() {
    const canvas = canvasOf(this.width, this.height);
    context(canvas).putImageData(new ImageData(maskPixels(this.binary()), this.width, this.height), 0, 0);
    return new Promise((resolve, reject) =>
      canvas.toBlob(
        (blob) => (blob ? resolve(blob) : reject(new Error('the mask could not be encoded'))),
        'image/png',
      ),
    );
  }
}
