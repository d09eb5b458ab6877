// @ts-check
/**
 * The playground page: an API key (from the URL fragment `#key=` that `npm start` prints, or typed
 * in; kept in this browser's localStorage), an image (file, drop, paste or sample), operations
 * drawn on the editor, prompt and options, then submit: uploads, price, live progress from the
 * event stream, the result, and the same request to copy as curl or JavaScript.
 */
import { Api, ApiError } from './api.js';
import { Editor } from './editor.js';
import { placeErrors } from './errors.js';
import { needsAnchor } from './geometry.js';
import { ProgressView } from './progress.js';
import { buildEditRequest, curlSnippet, javascriptSnippet } from './request.js';
import { ResultView } from './result.js';
import { formSchema, QUICK_OPTIONS } from './schema.js';

/** @typedef {import('./schema.js').FormSchema} FormSchema */
/** @typedef {import('./editor.js').Operation} Operation */
/** @typedef {{ key: string, message: string }} Placed */

const KEY_STORAGE = 'dragflow.apiKey';
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page lacks #${id}`);
  return /** @type {T} */ (element);
}

const keyInput = /** @type {HTMLInputElement} */ (byId('api-key'));
const balance = byId('balance');
const dropZone = byId('drop-zone');
const operationsList = byId('operations');
const optionsBox = byId('options');
const presetSelect = /** @type {HTMLSelectElement} */ (byId('preset'));
const submitButton = /** @type {HTMLButtonElement} */ (byId('submit'));
const cancelButton = /** @type {HTMLButtonElement} */ (byId('cancel'));
const price = byId('price');
const snippet = byId('snippet');
const brushSize = /** @type {HTMLInputElement} */ (byId('brush-size'));

const api = new Api(location.origin, () => keyInput.value.trim());
const progressView = new ProgressView(byId('progress-panel'), []);
const resultView = new ResultView(byId('result-panel'));
const editor = new Editor(/** @type {HTMLCanvasElement} */ (byId('editor')), () => {
  clearErrors();
  renderOperations();
});

/** @type {FormSchema} */
let form = formSchema({});
/** The loaded image, its object URL (the "before" picture) and its upload id once uploaded. */
/** @type {{ blob: Blob, url: string, upload: string | undefined } | undefined} */
let image;
/** Mask uploads per operation id, valid while the mask's version is unchanged. */
/** @type {Map<number, { version: number, upload: string }>} */
const maskUploads = new Map();
/** @type {{ controller: AbortController, edit: any } | undefined} */
let running;
/** @type {Record<string, unknown> | undefined} */
let lastRequest;

// ---- errors next to their controls --------------------------------------------------------

function controlKeys() {
  return [...document.querySelectorAll('[data-path]')].map(
    (element) => element.getAttribute('data-path') ?? '',
  );
}

function clearErrors() {
  for (const slot of document.querySelectorAll('.field-error')) slot.textContent = '';
  for (const control of document.querySelectorAll('[aria-invalid="true"]'))
    control.removeAttribute('aria-invalid');
}

/** @param {string} key */
function errorSlot(key) {
  const existing = document.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
  if (existing) return existing;
  const control = document.querySelector(`[data-path="${CSS.escape(key)}"]`);
  const slot = document.createElement('p');
  slot.className = 'field-error';
  slot.setAttribute('role', 'alert');
  slot.dataset.errorFor = key;
  // After the control, or after its label when the control sits inside one.
  const anchor = control?.closest('label') ?? control;
  if (anchor) anchor.after(slot);
  else byId('submit-panel').append(slot);
  return slot;
}

/** @param {Placed[]} placed */
function showErrors(placed) {
  for (const { key, message } of placed) {
    const slot = errorSlot(key);
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    document.querySelector(`[data-path="${CSS.escape(key)}"]`)?.setAttribute('aria-invalid', 'true');
  }
}

/**
 * @param {unknown} error
 * @param {string} fallback where an error without a path belongs
 */
function showFailure(error, fallback) {
  if (error instanceof ApiError) {
    const placed = placeErrors(error.body, controlKeys());
    showErrors(placed.map((p) => (p.key === 'request' ? { ...p, key: fallback } : p)));
  } else {
    showErrors([{ key: fallback, message: error instanceof Error ? error.message : String(error) }]);
  }
}

// ---- key and balance ------------------------------------------------------------------------

async function refreshBalance() {
  if (!keyInput.value.trim()) {
    balance.textContent = 'Enter the API key that npm start printed.';
    return;
  }
  try {
    const usage = await api.usage();
    balance.textContent = `${usage.available_credits} credits available`;
  } catch (error) {
    balance.textContent = '';
    showFailure(error, 'authorization');
  }
}

function initKey() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fromFragment) {
    localStorage.setItem(KEY_STORAGE, fromFragment);
    // The key leaves the address bar (and the history) once it is stored.
    history.replaceState(null, '', location.pathname + location.search);
  }
  keyInput.value = localStorage.getItem(KEY_STORAGE) ?? '';
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORAGE, keyInput.value.trim());
    clearErrors();
    void refreshBalance();
  });
}

// ---- image ----------------------------------------------------------------------------------

/**
 * @param {Blob} blob
 * @param {string} name
 */
async function loadImage(blob, name) {
  clearErrors();
  if (!IMAGE_TYPES.includes(blob.type)) {
    showErrors([
      {
        key: 'image',
        message: `${name} is ${blob.type || 'of unknown type'}; use a PNG, JPEG or WebP image`,
      },
    ]);
    return;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    showErrors([{ key: 'image', message: `${name} could not be decoded as an image` }]);
    return;
  }
  if (image) URL.revokeObjectURL(image.url);
  image = { blob, url: URL.createObjectURL(blob), upload: undefined };
  maskUploads.clear();
  dropZone.classList.add('loaded');
  dropZone.dataset.image = name;
  editor.setImage(bitmap);
  brushSize.value = String(editor.brushSize);
  brushSize.dispatchEvent(new Event('input'));
  resultView.hide();
  byId('progress-panel').hidden = true;
}

function initImageInputs() {
  const fileInput = /** @type {HTMLInputElement} */ (byId('file-input'));
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) void loadImage(file, file.name);
    fileInput.value = '';
  });
  for (const button of document.querySelectorAll('[data-sample]')) {
    button.addEventListener('click', async () => {
      const name = button.getAttribute('data-sample') ?? '';
      const response = await fetch(`samples/${name}`);
      void loadImage(await response.blob(), name);
    });
  }
  // Drops anywhere would make the browser open the file: only the drop zone takes them.
  for (const type of ['dragover', 'drop']) document.addEventListener(type, (event) => event.preventDefault());
  dropZone.addEventListener('dragover', () => dropZone.classList.add('dragging'));
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    dropZone.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file) void loadImage(file, file.name);
  });
  document.addEventListener('paste', (event) => {
    const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (!file) return;
    event.preventDefault();
    void loadImage(file, file.name || 'pasted image');
  });
}

// ---- tools and operations -------------------------------------------------------------------

/** @param {string} tool */
function selectTool(tool) {
  editor.tool = /** @type {import('./editor.js').Tool} */ (tool);
  const radio = document.querySelector(`input[name="tool"][value="${tool}"]`);
  if (radio instanceof HTMLInputElement) radio.checked = true;
}

function initTools() {
  for (const radio of document.querySelectorAll('input[name="tool"]')) {
    radio.addEventListener('change', () => selectTool(/** @type {HTMLInputElement} */ (radio).value));
  }
  const shown = byId('brush-size-value');
  brushSize.addEventListener('input', () => {
    editor.brushSize = Number(brushSize.value);
    shown.textContent = `${brushSize.value} px`;
  });
  byId('clear-region').addEventListener('click', () => editor.clearActive());
  byId('add-operation').addEventListener('click', () => {
    if (!image) return;
    editor.addOperation('relocate');
    selectTool('brush');
  });
  /** @type {Record<string, string>} */
  const keys = { b: 'brush', l: 'lasso', e: 'erase', t: 'target' };
  document.addEventListener('keydown', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (event.ctrlKey || event.metaKey || event.altKey || target.closest('input, textarea, select')) return;
    const tool = keys[event.key.toLowerCase()];
    if (tool) selectTool(tool);
  });
}

/**
 * @param {string} tag
 * @param {string} text
 * @param {string} path
 */
function line(tag, text, path) {
  const element = document.createElement(tag);
  element.textContent = text;
  element.dataset.path = path;
  return element;
}

function renderOperations() {
  const addButton = /** @type {HTMLButtonElement} */ (byId('add-operation'));
  addButton.disabled = !image || editor.operations.length >= form.maxOperations;
  operationsList.replaceChildren(
    ...editor.operations.map((op, index) => {
      const path = `operations.${index}`;
      const item = document.createElement('li');
      item.className = `operation${index === editor.active ? ' active' : ''}`;
      item.style.setProperty('--op-color', op.mask.color);
      item.dataset.path = path;
      const header = document.createElement('header');
      const title = document.createElement('strong');
      title.textContent = `${index + 1}`;
      const kind = document.createElement('select');
      kind.dataset.path = `${path}.kind`;
      kind.setAttribute('aria-label', `Operation ${index + 1} kind`);
      for (const name of form.kinds) kind.add(new Option(name, name, false, name === op.kind));
      kind.addEventListener('change', () => editor.setKind(index, /** @type {any} */ (kind.value)));
      header.append(title, kind);
      if (editor.operations.length > 1) {
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', `Remove operation ${index + 1}`);
        remove.addEventListener('click', (event) => {
          event.stopPropagation();
          editor.removeOperation(index);
        });
        header.append(remove);
      }
      const area = op.mask.stats.area;
      item.append(
        header,
        line('p', area > 0 ? `region: ${area} px` : 'region: none yet', `${path}.source`),
        line('p', editor.describe(op), `${path}.target`),
      );
      if (needsAnchor(op.kind) && op.anchor) {
        const [x, y] = op.anchor.map((v) => Math.round(v));
        item.append(line('p', `anchor: ${x}, ${y} (the square handle)`, `${path}.anchor`));
      }
      item.addEventListener('click', () => {
        if (editor.active !== index) editor.select(index);
      });
      return item;
    }),
  );
}

// ---- options --------------------------------------------------------------------------------

function renderOptions() {
  presetSelect.replaceChildren(
    ...form.presets.map((name) => new Option(name === form.defaultPreset ? `${name} (default)` : name, name)),
  );
  if (form.defaultPreset) presetSelect.value = form.defaultPreset;
  optionsBox.replaceChildren(
    ...form.options.map((option) => {
      const label = document.createElement('label');
      label.textContent = option.name.replaceAll('_', ' ');
      label.title = option.description;
      /** @type {HTMLInputElement | HTMLSelectElement} */
      let control;
      if (option.type === 'enum' || option.type === 'boolean') {
        const select = document.createElement('select');
        const choices = option.type === 'enum' ? (option.choices ?? []) : ['true', 'false'];
        select.add(new Option(`preset (${String(option.defaultValue)})`, ''));
        for (const choice of choices) select.add(new Option(choice, choice));
        control = select;
      } else {
        const input = document.createElement('input');
        input.type = 'number';
        input.step = option.type === 'integer' ? '1' : 'any';
        if (option.minimum !== undefined) input.min = String(option.minimum);
        if (option.maximum !== undefined) input.max = String(option.maximum);
        input.placeholder = String(option.defaultValue ?? 'preset');
        control = input;
      }
      control.id = `option-${option.name}`;
      control.dataset.path = `options.${option.name}`;
      control.dataset.option = option.type;
      label.append(control);
      return label;
    }),
  );
}

/** The options the user set (empty fields keep the preset's values). */
function readOptions() {
  /** @type {Record<string, unknown>} */
  const options = {};
  if (presetSelect.value && presetSelect.value !== form.defaultPreset) options.preset = presetSelect.value;
  for (const control of optionsBox.querySelectorAll('[data-option]')) {
    const input = /** @type {HTMLInputElement | HTMLSelectElement} */ (control);
    const name = (input.dataset.path ?? '').replace(/^options\./, '');
    if (input.value === '') continue;
    const type = input.dataset.option;
    options[name] =
      type === 'integer' || type === 'number'
        ? Number(input.value)
        : type === 'boolean'
          ? input.value === 'true'
          : input.value;
  }
  return options;
}

/** @param {Readonly<Record<string, number>>} values */
function setOptions(values) {
  for (const control of optionsBox.querySelectorAll('[data-option]')) {
    const input = /** @type {HTMLInputElement | HTMLSelectElement} */ (control);
    const name = (input.dataset.path ?? '').replace(/^options\./, '');
    input.value = name in values ? String(values[name]) : '';
  }
  clearErrors();
}

// ---- submit, progress, result ---------------------------------------------------------------

/** What can be told before calling the API: missing image, region, target or anchor. */
function localProblems() {
  /** @type {Placed[]} */
  const problems = [];
  if (!image) return [{ key: 'image', message: 'Load an image first.' }];
  editor.operations.forEach((op, index) => {
    const path = `operations.${index}`;
    if (op.mask.stats.area === 0)
      problems.push({ key: `${path}.source`, message: 'Paint or lasso this region.' });
    else if (!op.target)
      problems.push({ key: `${path}.target`, message: 'Pick Target and drag where the region goes.' });
  });
  return problems;
}

/** A failure and the control it belongs to when it names none itself. */
class Located extends Error {
  /**
   * @param {unknown} failure
   * @param {string} key
   */
  constructor(failure, key) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.failure = failure;
    this.key = key;
  }
}

/** @returns {Promise<string>} */
async function imageUpload() {
  const current = /** @type {NonNullable<typeof image>} */ (image);
  if (!current.upload) {
    try {
      current.upload = await api.upload(current.blob);
    } catch (error) {
      throw new Located(error, 'image');
    }
  }
  return current.upload;
}

/**
 * @param {Operation} op
 * @param {number} index
 */
async function maskUpload(op, index) {
  const cached = maskUploads.get(op.id);
  if (cached && cached.version === op.mask.version) return cached.upload;
  try {
    const upload = await api.upload(await op.mask.toPng());
    maskUploads.set(op.id, { version: op.mask.version, upload });
    return upload;
  } catch (error) {
    throw new Located(error, `operations.${index}.source`);
  }
}

/** @param {boolean} busy */
function setBusy(busy) {
  submitButton.disabled = busy;
  submitButton.textContent = busy ? 'Editing…' : 'Edit';
  cancelButton.hidden = !busy;
}

/** @param {any} edit */
async function onStatus(edit) {
  progressView.setStatus(edit.status, edit.error?.message ?? edit.note);
  if (edit.status === 'succeeded' && image) {
    await resultView.show(image.url, edit);
    void refreshBalance();
  } else if (edit.status === 'failed' && edit.error) {
    showErrors(placeErrors(edit.error, controlKeys()));
  }
}

async function submit() {
  clearErrors();
  const problems = localProblems();
  if (problems.length > 0) {
    showErrors(problems);
    return;
  }
  setBusy(true);
  price.textContent = 'Uploading…';
  resultView.hide();
  const controller = new AbortController();
  try {
    const imageId = await imageUpload();
    const operations = await Promise.all(
      editor.operations.map(async (op, index) => ({
        kind: op.kind,
        maskUpload: await maskUpload(op, index),
        target: /** @type {import('./geometry.js').Point} */ (op.target),
        ...(needsAnchor(op.kind) && op.anchor ? { anchor: op.anchor } : {}),
      })),
    );
    const request = buildEditRequest({
      imageUpload: imageId,
      operations,
      prompts: {
        editing: /** @type {HTMLTextAreaElement} */ (byId('prompt-editing')).value,
        background: /** @type {HTMLTextAreaElement} */ (byId('prompt-background')).value,
      },
      options: readOptions(),
    });
    lastRequest = request;
    const edit = await api.submit(request);
    running = { controller, edit };
    price.textContent = `Price: ${edit.metrics.price_credits} credits, held now and charged when the edit succeeds.`;
    progressView.reset();
    progressView.note(`edit ${edit.id} accepted`);
    /** @type {Promise<void>} */
    let statusShown = Promise.resolve();
    await api.follow(
      edit.urls.events,
      (type, data) => {
        if (type === 'progress') progressView.setProgress(data.progress, data.previews ?? []);
        else if (type === 'status') statusShown = statusShown.then(() => onStatus(data));
      },
      controller.signal,
    );
    await statusShown;
  } catch (error) {
    if (price.textContent === 'Uploading…') price.textContent = '';
    if (error instanceof Located) showFailure(error.failure, error.key);
    else if (!controller.signal.aborted) showFailure(error, 'request');
  } finally {
    running = undefined;
    setBusy(false);
  }
}

async function cancel() {
  if (!running) return;
  try {
    await api.call(running.edit.urls.cancel, { method: 'POST' });
  } catch (error) {
    showFailure(error, 'request');
  }
}

/** @param {'curl' | 'js'} kind */
async function copy(kind) {
  if (!lastRequest) return;
  const text =
    kind === 'curl' ? curlSnippet(api.base, lastRequest) : javascriptSnippet(api.base, lastRequest);
  snippet.textContent = text;
  snippet.hidden = false;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission: the snippet is shown to copy by hand.
  }
}

async function init() {
  initKey();
  initImageInputs();
  initTools();
  submitButton.addEventListener('click', () => void submit());
  cancelButton.addEventListener('click', () => void cancel());
  byId('quick-options').addEventListener('click', () => setOptions(QUICK_OPTIONS));
  byId('reset-options').addEventListener('click', () => setOptions({}));
  byId('copy-curl').addEventListener('click', () => void copy('curl'));
  byId('copy-js').addEventListener('click', () => void copy('js'));
  try {
    form = formSchema(await api.openApi());
  } catch (error) {
    showErrors([{ key: 'request', message: `The API description could not be read: ${String(error)}` }]);
  }
  progressView.phases = form.phases;
  renderOptions();
  renderOperations();
  await refreshBalance();
  document.body.dataset.ready = 'true';
}

void init();
