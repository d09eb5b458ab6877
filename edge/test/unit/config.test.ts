/** Settings: defaults, and a wrong or missing one named in the error. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE_S, type Env, readConfig } from '../../src/config.ts';

const base = { SIGNING_SECRET: 's'.repeat(32), COG_URL: 'http://127.0.0.1:5000' };
const env = (settings: Record<string, unknown>) => ({ ...settings }) as unknown as Env;

describe('config', () => {
  it('fills the documented defaults', () => {
    const config = readConfig(env(base));
    expect(config).toMatchObject({
      storage: 'r2',
      dispatch: 'cog',
      allowLoopbackUrls: false,
      startTimeoutS: 600,
      silenceTimeoutS: 300,
      maxRunTimeS: 3600,
      resultUrlTtlS: 3600,
      progressWebhookIntervalS: 5,
      defaultRateLimitPerMinute: 120,
      adminToken: undefined,
    });
    expect(config.webhookRetryScheduleS).toEqual(DEFAULT_WEBHOOK_RETRY_SCHEDULE_S);
    // The schedule spans more than 24 hours.
    expect(DEFAULT_WEBHOOK_RETRY_SCHEDULE_S.reduce((sum, s) => sum + s, 0)).toBeGreaterThan(86_400);
  });

  it.each([
    [
      { COG_URL: base.COG_URL },
      'setting SIGNING_SECRET is required (a long random string; see edge/README.md)',
    ],
    [{ ...base, STORAGE: 'disk' }, 'setting STORAGE must be one of r2, s3, got "disk"'],
    [{ ...base, STORAGE: 's3' }, 'setting S3_ENDPOINT is required with STORAGE=s3'],
    [{ ...base, DISPATCH: 'replicate' }, 'setting REPLICATE_API_TOKEN is required with DISPATCH=replicate'],
    [
      { ...base, DISPATCH: 'replicate', REPLICATE_API_TOKEN: 't', REPLICATE_WEBHOOK_SECRET: 'whsec_x' },
      'exactly one of REPLICATE_MODEL and REPLICATE_VERSION is required with DISPATCH=replicate',
    ],
    [
      { ...base, SILENCE_TIMEOUT_S: '-3' },
      'setting SILENCE_TIMEOUT_S must be a positive number of seconds, got "-3"',
    ],
    [
      { ...base, WEBHOOK_RETRY_SCHEDULE_S: '5,x' },
      'setting WEBHOOK_RETRY_SCHEDULE_S must list positive seconds, got 5,x',
    ],
    [{ ...base, COG_URL: 5 }, 'setting COG_URL must be a string'],
  ])('refuses %j', (settings, message) => {
    expect(() => readConfig(env(settings))).toThrow(message);
  });
});
