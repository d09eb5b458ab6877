/** The edit state machine as data, and how GPU reports are judged in each state. */
import { describe, expect, it } from 'vitest';
import {
  EDIT_STATUSES,
  EDIT_TRANSITIONS,
  type GpuReport,
  judgeReport,
  publicStatus,
} from '../../src/edits/state-machine.ts';

function report(status: GpuReport['status'], extra: Partial<GpuReport> = {}): GpuReport {
  return { status, progress: null, output: null, error: null, metrics: {}, ...extra };
}

const at = (phase: 'transport' | 'intensify', step: number) => ({ phase, step, total: 50, loss: 0.1 });

describe('edit state machine', () => {
  it('has terminal states with no way out, and every other state can fail or be canceled', () => {
    for (const status of EDIT_STATUSES) {
      const next = EDIT_TRANSITIONS[status];
      if (['succeeded', 'failed', 'canceled'].includes(status)) expect(next).toEqual([]);
      else expect(next).toEqual(expect.arrayContaining(['failed', 'canceled']));
    }
    expect(EDIT_STATUSES.map(publicStatus)).toEqual([
      'queued',
      'starting',
      'processing',
      'succeeded',
      'failed',
      'canceled',
    ]);
  });

  it('judges reports by state, progress order and previews', () => {
    const image = { image: 'u', previews: [] };
    expect(judgeReport('dispatched', null, 0, report('processing'))).toEqual({ kind: 'move', to: 'running' });
    expect(judgeReport('dispatched', null, 0, report('starting'))).toEqual({
      kind: 'ignore',
      reason: 'the GPU function has not started the edit yet',
    });
    expect(
      judgeReport('running', at('transport', 10), 0, report('processing', { progress: at('intensify', 1) })),
    ).toEqual({
      kind: 'progress',
    });
    expect(
      judgeReport('running', at('intensify', 1), 0, report('processing', { progress: at('transport', 49) })),
    ).toEqual({
      kind: 'ignore',
      reason: 'nothing newer than known',
    });
    expect(
      judgeReport(
        'running',
        at('intensify', 1),
        1,
        report('processing', { output: { previews: ['a', 'b'] } }),
      ),
    ).toEqual({
      kind: 'progress',
    });
    expect(judgeReport('running', null, 0, report('succeeded', { output: image }))).toEqual({
      kind: 'move',
      to: 'succeeded',
    });
    expect(judgeReport('running', null, 0, report('succeeded'))).toEqual({ kind: 'move', to: 'failed' });
    expect(judgeReport('dispatched', null, 0, report('canceled'))).toEqual({ kind: 'move', to: 'canceled' });
    expect(judgeReport('queued', null, 0, report('processing'))).toEqual({
      kind: 'ignore',
      reason: 'the edit is not dispatched',
    });
    for (const done of ['succeeded', 'failed', 'canceled'] as const) {
      expect(judgeReport(done, null, 0, report('succeeded', { output: image }))).toEqual({
        kind: 'ignore',
        reason: `the edit is already ${done}`,
      });
    }
  });
});
