/** Reading Cog and Replicate prediction objects into GPU reports. */
import { describe, expect, it } from 'vitest';
import { progressFromLogs, readPredictionReport } from '../../src/dispatch/gpu-report.ts';

describe('prediction reports', () => {
  it('reads the structured progress and error_detail of our Cog server', () => {
    expect(
      readPredictionReport({
        id: 'p1',
        status: 'failed',
        progress: { phase: 'transport', step: 3, total: 50, loss: 0.2, transformer_calls: 40 },
        error: 'image: x',
        error_detail: { code: 'image_unreadable', message: 'image: x' },
        metrics: { predict_time: 2, note: 'text' },
      }),
    ).toEqual({
      ok: true,
      predictionId: 'p1',
      report: {
        status: 'failed',
        progress: { phase: 'transport', step: 3, total: 50, loss: 0.2, transformer_calls: 40 },
        output: null,
        error: { code: 'image_unreadable', message: 'image: x' },
        metrics: { predict_time: 2 },
      },
    });
  });

  it("takes progress from the log lines when the host passes logs only (Replicate), and maps 'aborted' to canceled", () => {
    const logs = [
      'preparing 1/1, 0 transformer calls',
      'transport 10/50 loss 1.234e-1 (full-transform loss 9.876e-1), 31 transformer calls',
      'stored image.png',
      'intensify 2/20 loss 5.000e-2, 83 transformer calls',
      '',
    ].join('\n');
    expect(progressFromLogs(logs)).toEqual({
      phase: 'intensify',
      step: 2,
      total: 20,
      loss: 0.05,
      transformer_calls: 83,
    });
    expect(progressFromLogs('sampling 3/19, 90 transformer calls')).toEqual({
      phase: 'sampling',
      step: 3,
      total: 19,
      loss: null,
      transformer_calls: 90,
    });
    expect(progressFromLogs('nothing here')).toBeNull();
    const read = readPredictionReport({ id: 'r8', status: 'aborted', logs });
    expect(read.ok && read.report.status).toBe('canceled');
    expect(read.ok && read.report.progress?.phase).toBe('intensify');
  });

  it('refuses what is not a prediction, naming the field', () => {
    expect(readPredictionReport({ id: 'p', status: 'done' })).toEqual({
      ok: false,
      message:
        'status: must be one of "starting", "processing", "succeeded", "failed", "canceled", "aborted"',
    });
    expect(readPredictionReport({ id: 'p', status: 'succeeded', output: { previews: 'x' } })).toEqual({
      ok: false,
      message: 'output.previews: must be an array',
    });
  });
});
