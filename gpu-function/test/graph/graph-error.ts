import { GraphError } from '../../src/graph/errors.ts';

/** The GraphError `build` throws (any other outcome fails the test). */
export function errorOf(build: () => unknown): GraphError {
  try {
    build();
  } catch (e) {
    if (e instanceof GraphError) return e;
    throw e;
  }
  throw new Error('expected a GraphError');
}
