/**
 * Iterations of the drag optimisation (method doc, "Affine transforms and their schedule" and
 * "Update rule"): a transport phase that moves the target k/50 of the way at iteration k, then an
 * intensify phase that keeps pulling towards the full transform.
 *
 * Learning rate: 1000 in the transport phase; intensify is 1200 in the paper and 1000 in the
 * reference code. Default: the reference code's 1000 (the setting its published numbers ran with);
 * PAPER_INTENSIFY_LEARNING_RATE selects the paper's.
 */

export const TRANSPORT_ITERATIONS = 50;
export const INTENSIFY_ITERATIONS = 20;
export const TRANSPORT_LEARNING_RATE = 1000;
export const REFERENCE_INTENSIFY_LEARNING_RATE = 1000;
export const PAPER_INTENSIFY_LEARNING_RATE = 1200;

export interface DragScheduleOptions {
  transportIterations?: number;
  intensifyIterations?: number;
  transportLearningRate?: number;
  intensifyLearningRate?: number;
}

export interface DragIteration {
  /** 1-based over both phases. */
  iteration: number;
  phase: 'transport' | 'intensify';
  /** Fraction of each operation's full transform supervised at this iteration. */
  fraction: number;
  learningRate: number;
}

export function dragSchedule(options: DragScheduleOptions = {}): DragIteration[] {
  const transport = options.transportIterations ?? TRANSPORT_ITERATIONS;
  const intensify = options.intensifyIterations ?? INTENSIFY_ITERATIONS;
  for (const [name, n] of [
    ['transportIterations', transport],
    ['intensifyIterations', intensify],
  ] as const) {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
  if (transport === 0) throw new RangeError('transportIterations must be at least 1');
  const transportRate = options.transportLearningRate ?? TRANSPORT_LEARNING_RATE;
  const intensifyRate = options.intensifyLearningRate ?? REFERENCE_INTENSIFY_LEARNING_RATE;
  const iterations: DragIteration[] = [];
  for (let k = 1; k <= transport; k++) {
    iterations.push({
      iteration: k,
      phase: 'transport',
      fraction: k / transport,
      learningRate: transportRate,
    });
  }
  for (let k = 1; k <= intensify; k++) {
    iterations.push({
      iteration: transport + k,
      phase: 'intensify',
      fraction: 1,
      learningRate: intensifyRate,
    });
  }
  return iterations;
}
