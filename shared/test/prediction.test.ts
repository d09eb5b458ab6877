import { describe, expect, it } from 'vitest';
import { parseEditRequest } from '../src/edit-request.ts';
import { httpsUrlProblem, isLoopbackHost } from '../src/https-url.ts';
import { validate } from '../src/issues.ts';
import { canTransition, isTerminal } from '../src/job.ts';
import {
  COG_WEBHOOK_EVENTS,
  HealthCheckSchema,
  PREDICTION_STATUSES,
  PredictionRequestSchema,
  PredictionSchema,
} from '../src/prediction.ts';

const prediction = {
  id: 'wjx3whax6rf4vphkegkhcvpv6a',
  version: 'demo@a31bc14b48a3',
  input: { image: { url: 'https://images.example/p.png' } },
  output: { previews: ['https://store.example/p-preview-transport-025.png'] },
  logs: 'transport 25/50 loss 1.000e-1, 45 transformer calls\n',
  error: null,
  error_detail: null,
  status: 'processing',
  progress: { phase: 'transport', step: 25, total: 50, loss: 0.1, transformer_calls: 45 },
  metrics: {},
  created_at: '2026-11-27T09:50:00.000Z',
  started_at: '2026-11-27T09:50:00.010Z',
  completed_at: null,
};

describe('Cog prediction contract', () => {
  it("has Cog's statuses, a subset of the job lifecycle with the same transitions", () => {
    expect(PREDICTION_STATUSES).toEqual(['starting', 'processing', 'succeeded', 'failed', 'canceled']);
    expect(PREDICTION_STATUSES.filter(isTerminal)).toEqual(['succeeded', 'failed', 'canceled']);
    expect(canTransition('starting', 'processing')).toBe(true);
    expect(canTransition('succeeded', 'processing')).toBe(false);
    expect(COG_WEBHOOK_EVENTS).toEqual(['start', 'output', 'logs', 'completed']);
  });

  it('accepts a request with Cog fields and refuses unknown ones, duplicate events and bad ids', () => {
    const ok = {
      id: 'abc_123-X',
      input: {},
      webhook: 'https://edge.example/hook',
      webhook_events_filter: ['start'],
    };
    expect(validate(PredictionRequestSchema, ok)).toEqual({ ok: true, value: ok });
    const bad = validate(PredictionRequestSchema, {
      id: 'a/b',
      inputs: {},
      webhook_events_filter: ['logs', 'logs', 'progress'],
    });
    expect(bad.ok ? [] : bad.errors.map((e) => [e.code, e.path.join('.')])).toEqual([
      ['invalid_value', 'id'],
      ['invalid_value', 'webhook_events_filter.2'],
      ['unknown_field', 'inputs'],
    ]);
  });

  it('reports a repeated event at its index', () => {
    const repeated = validate(PredictionRequestSchema, {
      webhook_events_filter: ['logs', 'completed', 'logs'],
    });
    expect(repeated.ok ? [] : repeated.errors.map((e) => [e.code, e.path.join('.'), e.message])).toEqual([
      ['invalid_value', 'webhook_events_filter.2', 'webhook_events_filter[2]: event "logs" is listed twice'],
    ]);
  });

  it('validates a processing prediction with structured progress, and rejects a bad phase', () => {
    expect(validate(PredictionSchema, prediction).ok).toBe(true);
    const bad = validate(PredictionSchema, {
      ...prediction,
      progress: { ...prediction.progress, phase: 'warp' },
    });
    expect(bad.ok ? [] : bad.errors.map((e) => [e.code, e.path.join('.')])).toEqual([
      ['invalid_value', 'progress.phase'],
    ]);
  });

  it('validates a health-check document', () => {
    const health = {
      status: 'SETUP_FAILED',
      setup: {
        started_at: '2026-11-27T09:50:00Z',
        completed_at: '2026-11-27T09:50:01Z',
        status: 'failed',
        logs: 'x\n',
      },
      error: 'bundle_not_found: /models is not a bundle directory',
    };
    expect(validate(HealthCheckSchema, health).ok).toBe(true);
    expect(validate(HealthCheckSchema, { ...health, status: 'UNKNOWN' }).ok).toBe(false);
  });
});

describe('URL policy', () => {
  const http = {
    image: { url: 'http://127.0.0.1:9000/bucket/p.png' },
    drags: [{ handle: [1, 1], target: [2, 2] }],
  };

  it('refuses http by default and accepts it to loopback hosts only under the local-dev policy', () => {
    const strict = parseEditRequest(http);
    expect(strict.ok ? [] : strict.errors.map((e) => [e.code, e.message])).toEqual([
      ['invalid_url', 'image.url: must use https, not http'],
    ]);
    expect(parseEditRequest(http, {}, { allowLoopbackHttp: true }).ok).toBe(true);
    const remote = parseEditRequest(
      { ...http, image: { url: 'http://example.com/p.png' } },
      {},
      { allowLoopbackHttp: true },
    );
    expect(remote.ok ? [] : remote.errors.map((e) => e.code)).toEqual(['invalid_url']);
  });

  it('names loopback hosts by their form only', () => {
    expect(['localhost', '127.0.0.1', '127.9.8.7', '[::1]'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['10.0.0.1', 'localhost.example.com', '[::2]', '1270.0.0.1'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(httpsUrlProblem(new URL('https://user:pw@example.com/'))).toBe('must not embed credentials');
    expect(httpsUrlProblem(new URL('ftp://127.0.0.1/'), { allowLoopbackHttp: true })).toBe(
      'must use https, not ftp',
    );
  });
});
