import { describe, expect, it } from 'vitest';
import { echoInput, Prediction } from '../../src/server/prediction.ts';

function watched(): { prediction: Prediction; events: string[] } {
  const prediction = new Prediction('p1', { image: { url: 'https://x.example/a.png' } }, 'demo@abc');
  const events: string[] = [];
  prediction.onEvent((event, p) => events.push(`${event}:${p.status}`));
  return { prediction, events };
}

describe('prediction state machine', () => {
  it('runs starting -> processing -> succeeded with one event per change, in order', async () => {
    const { prediction, events } = watched();
    expect(prediction.toJSON()).toMatchObject({
      status: 'starting',
      started_at: null,
      output: null,
      logs: '',
    });
    prediction.start();
    prediction.progress(
      { phase: 'transport', step: 1, total: 50, loss: 0.5, transformer_calls: 21 },
      'transport 1/50',
    );
    prediction.addPreview('https://store.example/p1-preview.png');
    prediction.succeed(
      { image: 'https://store.example/p1-image.png', editable_mask: 'https://store.example/p1-mask.png' },
      {
        transformer_calls: 131,
      },
    );
    await prediction.settled;
    expect(events).toEqual([
      'start:processing',
      'logs:processing',
      'output:processing',
      'output:processing',
      'completed:succeeded',
    ]);
    const json = prediction.toJSON();
    expect(json.output).toEqual({
      previews: ['https://store.example/p1-preview.png'],
      image: 'https://store.example/p1-image.png',
      editable_mask: 'https://store.example/p1-mask.png',
    });
    expect(json.logs).toBe('transport 1/50\n');
    expect(json.progress).toEqual({
      phase: 'transport',
      step: 1,
      total: 50,
      loss: 0.5,
      transformer_calls: 21,
    });
    expect(json.metrics.transformer_calls).toBe(131);
    expect(json.metrics.predict_time).toBeGreaterThanOrEqual(0);
    expect(json.completed_at).not.toBeNull();
  });

  it('refuses every transition the lifecycle forbids', () => {
    const { prediction } = watched();
    expect(() => prediction.succeed({ image: 'x' }, {})).toThrow(
      'prediction p1: starting -> succeeded is not an allowed transition',
    );
    prediction.cancel({ transformer_calls: 0 });
    expect(prediction.status).toBe('canceled');
    expect(() => prediction.start()).toThrow('canceled -> processing');
    expect(() => prediction.fail({ code: 'internal', message: 'x' })).toThrow('canceled -> failed');
    expect(() => prediction.log('late')).toThrow('prediction p1: a log line after it ended canceled');
    expect(() => prediction.addPreview('https://x.example/p.png')).toThrow(
      'a preview after it ended canceled',
    );
  });

  it('carries the contract error as Cog error text and as error_detail', () => {
    const { prediction } = watched();
    const error = {
      code: 'mask_size_mismatch' as const,
      message: 'operations[0].source.mask: is 32x32 but the image is 64x64',
    };
    prediction.fail(error);
    expect(prediction.toJSON()).toMatchObject({
      status: 'failed',
      error: error.message,
      error_detail: error,
      metrics: { predict_time: 0 },
    });
  });

  it('echoes inline images by media type and size only', () => {
    const data = `data:image/png;base64,${'A'.repeat(400)}`;
    expect(
      echoInput({
        image: { data },
        operations: [{ source: { mask: { data: 'data:image/png;base64,AAAA' } } }],
      }),
    ).toEqual({
      image: { data: 'data:image/png;base64,<400 characters not echoed>' },
      operations: [{ source: { mask: { data: 'data:image/png;base64,AAAA' } } }],
    });
    expect(echoInput([1, 2])).toEqual({ value: [1, 2] });
  });
});
