// @ts-check
/**
 * The finished edit: before and after stacked with a slider between them, mask B (the area the
 * edit was allowed to change) as an optional overlay, and a download link. Result files may live on
 * another origin (an S3 store's signed URLs, without CORS), so they are only shown as images, never
 * read back: mask B brightens what lies under it by blending (CSS), not by reading its pixels.
 */

/** Share of the window's height the comparison may take. */
const FIT_HEIGHT = 0.7;

/**
 * @param {HTMLImageElement} image
 * @param {string} src
 * @returns {Promise<void>}
 */
function loaded(image, src) {
  return new Promise((resolve, reject) => {
    image.onload = () => resolve();
    image.onerror = () => reject(new Error(`could not load ${image.alt.toLowerCase()} image`));
    image.src = src;
  });
}

export class ResultView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.compare = /** @type {HTMLElement} */ (root.querySelector('#compare'));
    this.before = /** @type {HTMLImageElement} */ (root.querySelector('#before'));
    this.after = /** @type {HTMLImageElement} */ (root.querySelector('#after'));
    this.overlay = /** @type {HTMLImageElement} */ (root.querySelector('#mask-overlay'));
    this.slider = /** @type {HTMLInputElement} */ (root.querySelector('#compare-slider'));
    this.showMask = /** @type {HTMLInputElement} */ (root.querySelector('#show-mask'));
    this.download = /** @type {HTMLAnchorElement} */ (root.querySelector('#download'));
    this.facts = /** @type {HTMLElement} */ (root.querySelector('#result-facts'));
    this.slider.addEventListener('input', () => this.#split());
    this.showMask.addEventListener('change', () => this.#maskShown(this.showMask.checked));
  }

  /** @param {boolean} shown */
  #maskShown(shown) {
    this.overlay.style.visibility = shown ? 'visible' : 'hidden';
  }

  hide() {
    this.root.hidden = true;
  }

  #split() {
    this.compare.style.setProperty('--split', `${this.slider.value}%`);
  }

  /**
   * @param {string} beforeUrl the input image
   * @param {any} edit the succeeded edit
   */
  async show(beforeUrl, edit) {
    const output = edit.output;
    await Promise.all([loaded(this.before, beforeUrl), loaded(this.after, output.image)]);
    this.download.href = output.image;
    const format = /\.(png|jpe?g|webp)(\?|$)/.exec(output.image)?.[1] ?? 'png';
    this.download.download = `dragflow-${edit.id}.${format}`;
    this.showMask.checked = false;
    this.#maskShown(false);
    this.showMask.disabled = !output.editable_mask;
    if (output.editable_mask) await loaded(this.overlay, output.editable_mask);
    const metrics = edit.metrics ?? {};
    const seconds =
      typeof metrics.predict_time === 'number'
        ? `${metrics.predict_time.toFixed(1)} s on the GPU function, `
        : '';
    this.facts.textContent = `${this.after.naturalWidth}x${this.after.naturalHeight}, ${seconds}${metrics.charged_credits ?? 0} credits charged.`;
    this.slider.value = '50';
    this.#split();
    this.root.hidden = false;
    this.#fit();
  }

  /** As large as the panel allows (up to 70% of the window's height), aspect kept. */
  #fit() {
    const { naturalWidth: width, naturalHeight: height } = this.before;
    if (!width || !height) return;
    const factor = Math.min(
      (this.root.clientWidth * 0.95) / width,
      (window.innerHeight * FIT_HEIGHT) / height,
    );
    this.compare.style.width = `${Math.floor(width * factor)}px`;
    this.compare.style.height = `${Math.floor(height * factor)}px`;
  }
}
