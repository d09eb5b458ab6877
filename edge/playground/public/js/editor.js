// @ts-check
/**
 * The image editor: a canvas showing the photo, every operation's region (painted with the brush,
 * added with the lasso, removed with the eraser) and, once its target is set by dragging, a live
 * outline of where the region will go. Target and anchor are handles dragged on the image.
 * The canvas holds the image at full resolution; CSS scales it to the page.
 */
import { describeMotion, needsAnchor, operationTransform } from './geometry.js';
import { RegionMask } from './mask.js';

/** @typedef {import('./geometry.js').Point} Point */
/** @typedef {import('./geometry.js').OperationKind} OperationKind */
/** @typedef {'brush' | 'lasso' | 'erase' | 'target'} Tool */
/**
 * @typedef {{ id: number, kind: OperationKind, mask: RegionMask,
 *   target: Point | undefined, anchor: Point | undefined }} Operation
 */

/** One colour per operation slot (the contract allows up to 8). */
const COLORS = ['#ff3d7f', '#3dd9ff', '#ffd23d', '#7dff3d', '#b43dff', '#ff8f3d', '#3dff9e', '#3d6bff'];
/** Handle radius and grab distance, in screen pixels. */
const HANDLE_PX = 8;
const GRAB_PX = 16;
/** Share of the window's height the image may take. */
const FIT_HEIGHT = 0.7;

export class Editor {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {() => void} onChange called after every edit of an operation (not during a drag)
   */
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.onChange = onChange;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser gives no 2D canvas');
    this.ctx = ctx;
    /** @type {ImageBitmap | undefined} */
    this.image = undefined;
    /** @type {Operation[]} */
    this.operations = [];
    this.active = 0;
    /** @type {Tool} */
    this.tool = 'brush';
    /** Brush diameter in image pixels. */
    this.brushSize = 24;
    this.nextId = 1;
    /** @type {Point | undefined} */
    this.hover = undefined;
    /** @type {Point[] | undefined} */
    this.lasso = undefined;
    /** @type {{ kind: 'paint', last: Point } | { kind: 'lasso' } | { kind: 'handle', which: 'target' | 'anchor', offset: Point } | undefined} */
    this.drag = undefined;
    this.frame = 0;
    canvas.addEventListener('pointerdown', (event) => this.#down(event));
    canvas.addEventListener('pointermove', (event) => this.#move(event));
    canvas.addEventListener('pointerup', (event) => this.#up(event));
    canvas.addEventListener('pointercancel', (event) => this.#up(event));
    canvas.addEventListener('pointerleave', () => {
      this.hover = undefined;
      this.render();
    });
    new ResizeObserver(() => this.#fit()).observe(/** @type {Element} */ (canvas.parentElement));
  }

  /** Shows the image as large as its frame allows (up to 70% of the window's height), aspect kept. */
  #fit() {
    const frame = this.canvas.parentElement;
    if (!frame || !this.image) return;
    const style = getComputedStyle(frame);
    const room =
      frame.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight);
    const factor = Math.min(room / this.width, (window.innerHeight * FIT_HEIGHT) / this.height);
    this.canvas.style.width = `${Math.floor(this.width * factor)}px`;
    this.canvas.style.height = `${Math.floor(this.height * factor)}px`;
  }

  get width() {
    return this.canvas.width;
  }

  get height() {
    return this.canvas.height;
  }

  /** Image pixels per screen pixel at the current display size. */
  get scale() {
    const shown = this.canvas.getBoundingClientRect().width;
    return shown > 0 ? this.canvas.width / shown : 1;
  }

  /**
   * Shows a new image; operations start over with one empty relocate.
   * @param {ImageBitmap} image
   */
  setImage(image) {
    this.image = image;
    this.canvas.width = image.width;
    this.canvas.height = image.height;
    this.brushSize = Math.max(4, Math.round(Math.min(image.width, image.height) / 16));
    this.#fit();
    this.operations = [];
    this.addOperation('relocate');
  }

  /** @param {OperationKind} kind */
  addOperation(kind) {
    const color = COLORS[this.operations.length % COLORS.length] ?? COLORS[0];
    this.operations.push({
      id: this.nextId++,
      kind,
      mask: new RegionMask(this.width, this.height, /** @type {string} */ (color)),
      target: undefined,
      anchor: undefined,
    });
    this.active = this.operations.length - 1;
    this.#changed();
  }

  /** @param {number} index */
  removeOperation(index) {
    this.operations.splice(index, 1);
    this.active = Math.max(0, Math.min(this.active, this.operations.length - 1));
    this.#changed();
  }

  /** @param {number} index */
  select(index) {
    this.active = index;
    this.#changed();
  }

  /**
   * @param {number} index
   * @param {OperationKind} kind
   */
  setKind(index, kind) {
    const op = this.operations[index];
    if (!op) return;
    op.kind = kind;
    this.#defaultAnchor(op);
    this.#changed();
  }

  clearActive() {
    const op = this.operations[this.active];
    if (!op) return;
    op.mask.clear();
    op.mask.settle(this.scale);
    op.target = undefined;
    op.anchor = undefined;
    this.#changed();
  }

  /**
   * What an operation will do, in words.
   * @param {Operation} op
   */
  describe(op) {
    const centroid = op.mask.stats.centroid;
    if (!centroid) return 'paint or lasso its region';
    if (!op.target) return 'drag on the image to set where it goes';
    return describeMotion(op.kind, centroid, op.target, op.anchor);
  }

  #changed() {
    this.render();
    this.onChange();
  }

  /**
   * Rotate turns about the bottom middle of the region, scale grows from its top-left corner,
   * until the anchor is dragged elsewhere.
   * @param {Operation} op
   */
  #defaultAnchor(op) {
    const box = op.mask.stats.box;
    if (!needsAnchor(op.kind)) {
      op.anchor = undefined;
      return;
    }
    if (op.anchor || !box) return;
    op.anchor = op.kind === 'rotate' ? [(box.left + box.right) / 2, box.bottom] : [box.left, box.top];
  }

  /**
   * @param {PointerEvent} event
   * @returns {Point}
   */
  #point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * this.canvas.width) / rect.width,
      ((event.clientY - rect.top) * this.canvas.height) / rect.height,
    ];
  }

  /** @param {PointerEvent} event */
  #down(event) {
    const op = this.operations[this.active];
    if (!this.image || !op || event.button !== 0) return;
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    const p = this.#point(event);
    if (this.tool === 'brush' || this.tool === 'erase') {
      op.mask.stroke(p, p, this.brushSize, this.tool === 'erase');
      this.drag = { kind: 'paint', last: p };
    } else if (this.tool === 'lasso') {
      this.lasso = [p];
      this.drag = { kind: 'lasso' };
    } else {
      this.drag = this.#grab(op, p);
    }
    this.render();
  }

  /**
   * Which handle a press in the target tool takes: the anchor or the target when near one; else
   * the target, which follows the pointer from where it is (a press inside the region drags the
   * region along) or jumps to the press.
   * @param {Operation} op
   * @param {Point} p
   * @returns {{ kind: 'handle', which: 'target' | 'anchor', offset: Point } | undefined}
   */
  #grab(op, p) {
    const centroid = op.mask.stats.centroid;
    if (!centroid) return undefined;
    this.#defaultAnchor(op);
    const near = (/** @type {Point | undefined} */ h) =>
      h !== undefined && Math.hypot(h[0] - p[0], h[1] - p[1]) <= GRAB_PX * this.scale;
    if (needsAnchor(op.kind) && near(op.anchor)) {
      const anchor = /** @type {Point} */ (op.anchor);
      return { kind: 'handle', which: 'anchor', offset: [anchor[0] - p[0], anchor[1] - p[1]] };
    }
    const from = op.target ?? centroid;
    if (near(from) || op.mask.contains(p)) {
      return { kind: 'handle', which: 'target', offset: [from[0] - p[0], from[1] - p[1]] };
    }
    op.target = p;
    return { kind: 'handle', which: 'target', offset: [0, 0] };
  }

  /** @param {PointerEvent} event */
  #move(event) {
    const p = this.#point(event);
    this.hover = p;
    const op = this.operations[this.active];
    const drag = this.drag;
    if (op && drag?.kind === 'paint') {
      op.mask.stroke(drag.last, p, this.brushSize, this.tool === 'erase');
      drag.last = p;
    } else if (drag?.kind === 'lasso') {
      this.lasso?.push(p);
    } else if (op && drag?.kind === 'handle') {
      const moved = /** @type {Point} */ ([p[0] + drag.offset[0], p[1] + drag.offset[1]]);
      if (drag.which === 'anchor') op.anchor = moved;
      else op.target = moved;
    }
    this.render();
  }

  /** @param {PointerEvent} event */
  #up(event) {
    const op = this.operations[this.active];
    const drag = this.drag;
    this.drag = undefined;
    if (!op || !drag) return;
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    if (drag.kind === 'lasso') {
      op.mask.fillPolygon(this.lasso ?? [], false);
      this.lasso = undefined;
    }
    if (drag.kind !== 'handle') {
      op.mask.settle(this.scale);
      this.#defaultAnchor(op);
    }
    this.#changed();
  }

  /** Draws on the next animation frame (once, however often it is asked). */
  render() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.#draw();
    });
  }

  #draw() {
    const { ctx } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    if (!this.image) return;
    ctx.drawImage(this.image, 0, 0);
    const unit = this.scale;
    this.operations.forEach((op, index) => {
      const active = index === this.active;
      ctx.globalAlpha = active ? 0.45 : 0.25;
      ctx.drawImage(op.mask.tinted, 0, 0);
      ctx.globalAlpha = 1;
      const centroid = op.mask.stats.centroid;
      if (!centroid) return;
      const transform = op.target ? operationTransform(op.kind, centroid, op.target, op.anchor) : undefined;
      if (transform) {
        // The live outline: the region's rim (and a faint fill) where the operation sends it.
        ctx.setTransform(transform.a, transform.b, transform.c, transform.d, transform.e, transform.f);
        ctx.globalAlpha = 0.2;
        ctx.drawImage(op.mask.tinted, 0, 0);
        ctx.globalAlpha = 1;
        ctx.drawImage(op.mask.rim, 0, 0);
        ctx.setTransform(1, 0, 0, 1, 0, 0);
      }
      this.#handles(op, centroid, unit, active);
    });
    this.#cursor(unit);
  }

  /**
   * @param {Operation} op
   * @param {Point} centroid
   * @param {number} unit image pixels per screen pixel
   * @param {boolean} active
   */
  #handles(op, centroid, unit, active) {
    const { ctx } = this;
    ctx.lineWidth = 2 * unit;
    ctx.strokeStyle = op.mask.color;
    ctx.fillStyle = op.mask.color;
    ctx.beginPath();
    ctx.arc(centroid[0], centroid[1], 3 * unit, 0, 2 * Math.PI);
    ctx.fill();
    if (op.anchor && needsAnchor(op.kind)) {
      ctx.setLineDash([4 * unit, 4 * unit]);
      ctx.beginPath();
      ctx.moveTo(centroid[0], centroid[1]);
      ctx.lineTo(op.anchor[0], op.anchor[1]);
      if (op.target) ctx.lineTo(op.target[0], op.target[1]);
      ctx.stroke();
      ctx.setLineDash([]);
      const s = HANDLE_PX * unit;
      ctx.strokeStyle = active ? '#fff' : op.mask.color;
      ctx.strokeRect(op.anchor[0] - s / 2, op.anchor[1] - s / 2, s, s);
    }
    if (!op.target) return;
    if (!needsAnchor(op.kind)) {
      ctx.strokeStyle = op.mask.color;
      ctx.beginPath();
      ctx.moveTo(centroid[0], centroid[1]);
      ctx.lineTo(op.target[0], op.target[1]);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.arc(op.target[0], op.target[1], HANDLE_PX * unit, 0, 2 * Math.PI);
    ctx.fillStyle = op.mask.color;
    ctx.fill();
    ctx.strokeStyle = active ? '#fff' : '#000';
    ctx.stroke();
  }

  /** @param {number} unit */
  #cursor(unit) {
    const { ctx } = this;
    if (this.lasso && this.lasso.length > 1) {
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1.5 * unit;
      ctx.setLineDash([5 * unit, 3 * unit]);
      ctx.beginPath();
      for (const [x, y] of this.lasso) ctx.lineTo(x, y);
      ctx.closePath();
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (this.hover && (this.tool === 'brush' || this.tool === 'erase')) {
      ctx.strokeStyle = this.tool === 'erase' ? '#000' : '#fff';
      ctx.lineWidth = unit;
      ctx.beginPath();
      ctx.arc(this.hover[0], this.hover[1], this.brushSize / 2, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}
