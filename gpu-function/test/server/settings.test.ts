import { describe, expect, it } from 'vitest';
import { parseSettings, SETTINGS, settingsHelp } from '../../src/server/settings.ts';

describe('server settings', () => {
  it('have documented defaults', () => {
    expect(parseSettings(['--demo'], {})).toEqual({
      host: '0.0.0.0',
      port: 5000,
      bundle: { kind: 'demo' },
      uploadUrl: undefined,
      concurrency: 1,
      allowLoopback: false,
      fetchTimeoutMs: 30_000,
      shutdownGraceMs: 20_000,
      maxBodyBytes: 64 * 1024 * 1024,
      webhookAuthToken: undefined,
    });
  });

  it('take the environment, and a flag over the environment', () => {
    const env = {
      PORT: '8080',
      DRAGFLOW_BUNDLE: '/models/flux1-dev',
      DRAGFLOW_CONCURRENCY: '2',
      DRAGFLOW_SHUTDOWN_GRACE_S: '2.5',
      DRAGFLOW_ALLOW_LOOPBACK: 'true',
      DRAGFLOW_UPLOAD_URL: 'http://127.0.0.1:8787/gpu/uploads',
      WEBHOOK_AUTH_TOKEN: 'secret',
    };
    expect(parseSettings(['--port', '9000'], env)).toMatchObject({
      port: 9000,
      bundle: { kind: 'dir', dir: '/models/flux1-dev' },
      concurrency: 2,
      shutdownGraceMs: 2500,
      allowLoopback: true,
      uploadUrl: 'http://127.0.0.1:8787/gpu/uploads',
      webhookAuthToken: 'secret',
    });
    expect(
      parseSettings(
        [
          '--bundle-url',
          'https://models.example/flux1-dev/',
          '--bundle-sha256',
          'a'.repeat(64),
          '--bundle',
          '/m',
        ],
        {},
      ).bundle,
    ).toEqual({ kind: 'url', url: 'https://models.example/flux1-dev/', sha256: 'a'.repeat(64), dir: '/m' });
  });

  it.each([
    [[], {}, 'give a model bundle: --bundle <dir>, --bundle-url <url> or --demo'],
    [['--demo', '--bundle', '/m'], {}, '--demo cannot be combined with --bundle or --bundle-url'],
    [['--bundle-url', 'https://m.example/', '--bundle', '/m'], {}, '--bundle-url needs --bundle-sha256'],
    [['--demo', '--port', '70000'], {}, '--port "70000": must be an integer in [0, 65535]'],
    [['--demo'], { DRAGFLOW_CONCURRENCY: '0' }, 'DRAGFLOW_CONCURRENCY "0": must be an integer in [1, 64]'],
    [['--demo'], { DRAGFLOW_ALLOW_LOOPBACK: 'maybe' }, 'DRAGFLOW_ALLOW_LOOPBACK "maybe": must be true/false'],
    [['--demo', '--upload-url', 'http://store.example/up'], {}, '--upload-url: must use https, not http'],
    [['--demo', '--upload-url', 'http://127.0.0.1:9/up'], {}, '--upload-url: must use https, not http'],
    [['--demo', '--colour', 'red'], {}, "Unknown option '--colour'"],
  ])('refuse %j %j: %s', (args, env, message) => {
    expect(() => parseSettings(args as string[], env as NodeJS.ProcessEnv)).toThrow(message);
  });

  it('are all in the help text with their flag, variable and default', () => {
    const help = settingsHelp();
    for (const spec of SETTINGS) {
      expect(help).toContain(`--${spec.flag}`);
      expect(help).toContain(`(${spec.env}, default ${spec.default ?? 'unset'})`);
    }
    expect(help).toContain('WEBHOOK_AUTH_TOKEN (environment only)');
  });
});
