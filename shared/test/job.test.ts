import { describe, expect, it } from 'vitest';
import { validate } from '../src/issues.ts';
import { canTransition, isTerminal, JOB_STATUSES, JOB_TRANSITIONS, JobSchema } from '../src/job.ts';
import { WebhookPayloadSchema, wantsEvent } from '../src/webhook.ts';

describe('job lifecycle', () => {
  it('allows exactly these transitions', () => {
    const allowed = JOB_STATUSES.flatMap((from) =>
      JOB_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed).toEqual([
      'queued->starting',
      'queued->failed',
      'queued->canceled',
      'starting->processing',
      'starting->failed',
      'starting->canceled',
      'processing->succeeded',
      'processing->failed',
      'processing->canceled',
    ]);
  });

  it('has three terminal states and no way back', () => {
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['succeeded', 'failed', 'canceled']);
    expect(canTransition('succeeded', 'processing')).toBe(false);
    expect(canTransition('processing', 'queued')).toBe(false);
    expect(Object.keys(JOB_TRANSITIONS)).toEqual([...JOB_STATUSES]);
  });
});

const job = {
  id: 'job_01',
  status: 'processing',
  progress: { phase: 'transport', step: 12, total: 50, loss: 0.0231 },
  output: null,
  error: null,
  metrics: { predict_time: 12.5, queue_depth: 3 },
  metadata: { order: 7 },
  created_at: '2026-11-27T09:50:00Z',
  started_at: '2026-11-27T09:50:02.120Z',
  completed_at: null,
};

describe('job and webhook payload schemas', () => {
  it('accept a processing job inside a progress webhook', () => {
    expect(
      validate(WebhookPayloadSchema, { type: 'progress', timestamp: '2026-11-27T09:51:00Z', data: job }),
    ).toEqual({
      ok: true,
      value: { type: 'progress', timestamp: '2026-11-27T09:51:00Z', data: job },
    });
  });

  it('reject an unknown status, a bad phase and a bad timestamp with paths', () => {
    const result = validate(JobSchema, {
      ...job,
      status: 'running',
      progress: { ...job.progress, phase: 'warping' },
      created_at: 'yesterday',
    });
    expect(result.ok ? [] : result.errors.map((error) => [error.code, error.path])).toEqual([
      ['invalid_value', ['status']],
      ['invalid_value', ['progress', 'phase']],
      ['invalid_value', ['created_at']],
    ]);
  });

  it('filters webhook events', () => {
    expect(wantsEvent(undefined, 'progress')).toBe(true);
    expect(wantsEvent(['completed'], 'progress')).toBe(false);
    expect(wantsEvent(['completed'], 'completed')).toBe(true);
  });
});
