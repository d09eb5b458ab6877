/**
 * Compares a safetensors header with the tensors a model expects, so a loader can refuse a wrong
 * file before reading gigabytes, naming every missing, unexpected and wrong-shaped tensor.
 */
import type { ParamSpec } from './checkpoint-keys.ts';
import { FluxModelError } from './errors.ts';

/** One header entry: what a safetensors header says about a tensor (offsets are not needed here). */
export interface HeaderTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
}

export interface ShapeMismatch {
  readonly name: string;
  readonly expected: readonly number[];
  readonly actual: readonly number[];
}

export interface DtypeMismatch {
  readonly name: string;
  readonly dtype: string;
}

export interface CheckpointReport {
  /** Expected tensors the header lacks. */
  readonly missing: string[];
  /** Header tensors the model does not use. */
  readonly extra: string[];
  readonly wrongShape: ShapeMismatch[];
  /** Tensors whose dtype is not one of the accepted floating-point types. */
  readonly wrongDtype: DtypeMismatch[];
}

/** Floating-point dtypes of the published FLUX.1 files (BF16 transformer, F32 autoencoder) plus F16. */
export const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

/** The error message lists at most this many names per category, then counts the rest. */
export const MAX_NAMES_IN_MESSAGE = 20;

export interface CheckOptions {
  /** Key prefix of bundled files, e.g. `model.diffusion_model.` (ComfyUI) or `` (BFL single file). */
  readonly prefix?: string;
  readonly acceptedDtypes?: readonly string[];
}

/**
 * The tensors of a header as (name, entry) pairs: `SafetensorsHeader.tensors` (a Map) from
 * weights/, or `Object.entries` of a raw header object (its `__metadata__` entry is skipped).
 */
export type HeaderTensors = Iterable<readonly [string, HeaderTensor | Record<string, string>]>;

/** Reports every difference between the header's tensors and `expected`, sorted by name. */
export function checkCheckpoint(
  header: HeaderTensors,
  expected: readonly ParamSpec[],
  options: CheckOptions = {},
): CheckpointReport {
  const prefix = options.prefix ?? '';
  const accepted = options.acceptedDtypes ?? FLOAT_DTYPES;
  const tensors = new Map<string, HeaderTensor>();
  const extra: string[] = [];
  for (const [key, entry] of header) {
    if (key === '__metadata__') continue;
    if (!key.startsWith(prefix)) {
      extra.push(key);
      continue;
    }
    tensors.set(key.slice(prefix.length), entry as HeaderTensor);
  }
  const missing: string[] = [];
  const wrongShape: ShapeMismatch[] = [];
  const wrongDtype: DtypeMismatch[] = [];
  const expectedNames = new Set<string>();
  for (const spec of expected) {
    expectedNames.add(spec.name);
    const found = tensors.get(spec.name);
    if (found === undefined) {
      missing.push(spec.name);
      continue;
    }
    const shape = Array.isArray(found.shape) ? found.shape : [];
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
      wrongShape.push({ name: spec.name, expected: spec.shape, actual: shape });
    }
    if (!accepted.includes(found.dtype)) wrongDtype.push({ name: spec.name, dtype: String(found.dtype) });
  }
  for (const name of tensors.keys()) if (!expectedNames.has(name)) extra.push(prefix + name);
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return {
    missing: missing.sort(),
    extra: extra.sort(),
    wrongShape: wrongShape.sort(byName),
    wrongDtype: wrongDtype.sort(byName),
  };
}

export function isCleanReport(report: CheckpointReport): boolean {
  return (
    report.missing.length === 0 &&
    report.extra.length === 0 &&
    report.wrongShape.length === 0 &&
    report.wrongDtype.length === 0
  );
}

function listed(title: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, MAX_NAMES_IN_MESSAGE);
  const more = items.length - shown.length;
  return [`${title} (${items.length}): ${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`];
}

/** Throws `checkpoint_mismatch` naming the offending tensors, unless the header matches exactly. */
export function assertCheckpoint(
  what: string,
  header: HeaderTensors,
  expected: readonly ParamSpec[],
  options: CheckOptions = {},
): void {
  const report = checkCheckpoint(header, expected, options);
  if (isCleanReport(report)) return;
  const lines = [
    ...listed('missing', report.missing),
    ...listed('unexpected', report.extra),
    ...listed(
      'wrong shape',
      report.wrongShape.map((m) => `${m.name} [${m.actual}] (expected [${m.expected}])`),
    ),
    ...listed(
      'unsupported dtype',
      report.wrongDtype.map(
        (m) => `${m.name} ${m.dtype} (accepted ${(options.acceptedDtypes ?? FLOAT_DTYPES).join('/')})`,
      ),
    ),
  ];
  throw new FluxModelError('checkpoint_mismatch', `${what} does not match the model:\n${lines.join('\n')}`);
}
