/**
 * Iterations of the drag optimisation (method doc, "Affine transforms and their schedule" and
 * "Update rule"): a transport phase that supervises k/K_transport of each full transform at
 * iteration k, then an intensify phase at the full transform. Counts and learning rates come
 * from the resolved settings (presets: paper 50 + 20 iterations, lr 1000 then 1200; the
 * reference code's intensify lr is 1000).
 */
import type { Settings } from '@dragflow/shared/presets';

export type DragScheduleSettings = Pick<
  Settings,
  'transport_iterations' | 'intensify_iterations' | 'transport_lr' | 'intensify_lr'
>;

export interface DragIteration {
  /** 1-based over both phases. */
  iteration: number;
  phase: 'transport' | 'intensify';
  /** Fraction of each operation's full transform supervised at this iteration. */
  fraction: number;
  learningRate: number;
}

export function dragSchedule(settings: DragScheduleSettings): DragIteration[] {
  const transport = settings.transport_iterations;
  const iterations: DragIteration[] = [];
  for (let k = 1; k <= transport; k++) {
    iterations.push({
      iteration: k,
      phase: 'transport',
      fraction: k / transport,
      learningRate: settings.transport_lr,
    });
  }
  for (let k = 1; k <= settings.intensify_iterations; k++) {
    iterations.push({
      iteration: transport + k,
      phase: 'intensify',
      fraction: 1,
      learningRate: settings.intensify_lr,
    });
  }
  return iterations;
}
