/** Stable machine-readable codes for every way building or differentiating a graph can fail. */
export type GraphErrorCode =
  | 'unknown_op'
  | 'shape_mismatch'
  | 'dtype_mismatch'
  | 'bad_attribute'
  | 'not_constant'
  | 'foreign_tensor'
  | 'dangling_input'
  | 'cycle'
  | 'duplicate_name'
  | 'missing_data'
  | 'model_too_large'
  | 'no_gradient_rule'
  | 'not_scalar_loss';

/** A build-time error; `where` names the node (op and name) or the graph value concerned. */
export class GraphError extends Error {
  constructor(
    readonly code: GraphErrorCode,
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail} [${code}]`);
    this.name = 'GraphError';
  }
}
