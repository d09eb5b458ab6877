/**
 * Why a bundle was refused. Codes are stable and machine-readable; `file` is the bundle-relative path
 * of the file at fault (`manifest.json` for manifest problems), so a caller can point at it.
 */
export type BundleErrorCode =
  | 'bundle_not_found' // the directory does not exist or is not a directory
  | 'bundle_manifest_invalid' // manifest.json is missing, not JSON, too large or fails the schema
  | 'bundle_incompatible' // a format version, family or model this dragflow (or the caller) cannot run
  | 'bundle_licence_forbids' // the caller needs commercial use and the bundle's licence does not allow it
  | 'bundle_missing_file' // a file the manifest lists is absent
  | 'bundle_unexpected_file' // a file or link in the folder that the manifest does not list
  | 'bundle_size_mismatch' // a file's byte count differs from the manifest (truncated or appended)
  | 'bundle_hash_mismatch' // a file's sha256 differs from the manifest (corrupted or replaced)
  | 'bundle_graph_mismatch' // a graph's inputs/outputs differ from what the manifest declares
  | 'bundle_graph_unknown' // the caller asked for a graph the bundle does not have
  | 'bundle_session_failed' // onnxruntime refused to open a graph
  | 'bundle_out_exists' // a build's output folder already exists and is not empty
  | 'bundle_download_failed' // a file of a bundle downloaded at setup could not be fetched
  | 'bundle_source_invalid'; // a build's source weights are missing or do not match the model

export interface BundleProblem {
  code: BundleErrorCode;
  /** Bundle-relative POSIX path of the file at fault. */
  file: string;
  message: string;
}

export class BundleError extends Error {
  readonly code: BundleErrorCode;
  readonly file: string;
  /** Every problem found; the first one is also this error's code, file and message. */
  readonly problems: readonly BundleProblem[];

  constructor(problems: readonly BundleProblem[]) {
    const [first] = problems;
    if (!first) throw new TypeError('BundleError needs at least one problem');
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    super(`${first.message}${more}`);
    this.name = 'BundleError';
    this.code = first.code;
    this.file = first.file;
    this.problems = problems;
  }

  static of(code: BundleErrorCode, file: string, message: string): BundleError {
    return new BundleError([{ code, file, message }]);
  }
}
