// @ts-check
/**
 * Live progress of an edit from its event stream: status, phase, step/total, loss, an overall
 * percentage, the previews as they arrive, and a log of what happened.
 */

/** @typedef {{ phase: string, step: number, total: number, loss: number | null }} Progress */

/** Previews kept on screen (the newest). */
const MAX_PREVIEWS = 8;

/**
 * Overall completion in percent: each phase counts as an equal share, the current one by its
 * step/total. 100 only once the edit has succeeded.
 * @param {readonly string[]} phases the contract's phases, in order
 * @param {Progress | null} progress
 * @param {string} status
 */
export function overallPercent(phases, progress, status) {
  if (status === 'succeeded') return 100;
  if (!progress || phases.length === 0) return 0;
  const index = phases.indexOf(progress.phase);
  if (index === -1) return 0;
  const within = progress.total > 0 ? Math.min(1, progress.step / progress.total) : 0;
  return Math.min(99, Math.floor((100 * (index + within)) / phases.length));
}

/** @param {Progress} progress */
export function describeProgress(progress) {
  const loss = progress.loss === null ? '' : ` · loss ${progress.loss.toFixed(4)}`;
  return `${progress.phase} ${progress.step}/${progress.total}${loss}`;
}

export class ProgressView {
  /**
   * @param {HTMLElement} root
   * @param {readonly string[]} phases
   */
  constructor(root, phases) {
    this.root = root;
    this.phases = phases;
    this.bar = /** @type {HTMLProgressElement} */ (root.querySelector('#progress'));
    this.percent = /** @type {HTMLOutputElement} */ (root.querySelector('#progress-percent'));
    this.line = /** @type {HTMLElement} */ (root.querySelector('#status-line'));
    this.previews = /** @type {HTMLElement} */ (root.querySelector('#previews'));
    this.log = /** @type {HTMLOListElement} */ (root.querySelector('#event-log'));
    this.status = 'queued';
    /** @type {Progress | null} */
    this.progress = null;
  }

  reset() {
    this.root.hidden = false;
    this.status = 'queued';
    this.progress = null;
    this.previews.replaceChildren();
    this.log.replaceChildren();
    this.#show();
  }

  /** @param {string} text */
  note(text) {
    const item = document.createElement('li');
    item.textContent = text;
    this.log.append(item);
    this.log.scrollTop = this.log.scrollHeight;
  }

  /**
   * @param {string} status
   * @param {string} [detail]
   */
  setStatus(status, detail) {
    this.status = status;
    this.note(`status ${status}${detail ? `: ${detail}` : ''}`);
    this.#show();
  }

  /**
   * @param {Progress | null} progress
   * @param {string[]} previews URLs of previews new with this event
   */
  setProgress(progress, previews) {
    if (progress) {
      this.progress = progress;
      this.note(describeProgress(progress));
    }
    for (const url of previews) {
      const image = document.createElement('img');
      image.src = url;
      image.alt = `preview ${this.previews.childElementCount + 1}`;
      this.previews.append(image);
      while (this.previews.childElementCount > MAX_PREVIEWS) this.previews.firstElementChild?.remove();
    }
    this.#show();
  }

  #show() {
    const percent = overallPercent(this.phases, this.progress, this.status);
    this.bar.value = percent;
    this.percent.value = `${percent}%`;
    this.line.textContent = this.progress
      ? `${this.status} · ${describeProgress(this.progress)}`
      : this.status;
  }
}
