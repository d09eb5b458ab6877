/**
 * `GET /health-check` (always HTTP 200, as Cog): STARTING while setup runs, SETUP_FAILED when it
 * failed (with the reason and the setup logs), DEFUNCT after an internal failure, BUSY when every
 * slot runs a prediction, READY otherwise.
 */
import type { HealthCheck, HealthStatus } from '@dragflow/shared/prediction';
import type { Runner } from './runner.ts';
import type { Setup } from './setup.ts';

export function healthStatus(setup: Setup, runner: Runner): HealthStatus {
  if (runner.defunct !== null) return 'DEFUNCT';
  if (setup.status === 'starting') return 'STARTING';
  if (setup.status === 'failed') return 'SETUP_FAILED';
  return runner.busy ? 'BUSY' : 'READY';
}

export function healthCheck(setup: Setup, runner: Runner): HealthCheck {
  return { status: healthStatus(setup, runner), setup: setup.toJSON(), error: runner.defunct ?? setup.error };
}
