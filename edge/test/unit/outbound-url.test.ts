/** The outbound URL policy: which hosts the edge may fetch from or call, with the reason for each refusal. */
import { describe, expect, it } from 'vitest';
import { classifyHost, outboundUrlProblem } from '../../src/security/outbound-url.ts';

describe('classifyHost', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['localhost', 'loopback'],
    ['api.localhost', 'loopback'],
    ['[::1]', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['[fc00::1]', 'private'],
    ['[fd12:3456::1]', 'private'],
    ['169.254.1.1', 'link-local'],
    ['[fe80::1]', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['[fd00:ec2::254]', 'metadata'],
    ['metadata.google.internal', 'metadata'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['[::ffff:a9fe:a9fe]', 'metadata'],
    ['[64:ff9b::a00:1]', 'private'],
    ['0.0.0.0', 'reserved'],
    ['[::]', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['intranet', 'private'],
    ['printer.local', 'private'],
    ['db.internal', 'private'],
    ['8.8.8.8', undefined],
    ['172.32.0.1', undefined],
    ['[2606:4700::1111]', undefined],
    ['images.example.com', undefined],
  ])('%s is %s', (host, kind) => {
    expect(classifyHost(host)).toBe(kind);
  });
});

describe('outboundUrlProblem', () => {
  const production = { allowLoopback: false };
  const local = { allowLoopback: true };

  it('normalises numeric host forms before judging them', () => {
    for (const url of ['https://2130706433/', 'https://0x7f.1/', 'https://0177.0.0.1/', 'https://127.1/']) {
      expect(outboundUrlProblem(url, production)).toBe(
        'points at 127.0.0.1, a loopback address; only public hosts are allowed',
      );
    }
  });

  it('allows public https only in production', () => {
    expect(outboundUrlProblem('https://images.example.com/a.png', production)).toBeUndefined();
    expect(outboundUrlProblem('http://images.example.com/a.png', production)).toBe(
      'must use https, not http',
    );
    expect(outboundUrlProblem('ftp://images.example.com/a.png', production)).toBe('must use https, not ftp');
    expect(outboundUrlProblem('https://u:p@images.example.com/', production)).toBe(
      'must not embed credentials',
    );
    expect(outboundUrlProblem('not a url', production)).toBe('is not a valid absolute URL');
    expect(outboundUrlProblem('https://[::1]:8443/', production)).toBe(
      'points at [::1], a loopback address; only public hosts are allowed',
    );
  });

  it('admits http and https to loopback with the local switch, nothing else private', () => {
    expect(outboundUrlProblem('http://127.0.0.1:9000/bucket/key', local)).toBeUndefined();
    expect(outboundUrlProblem('http://localhost:8787/hook', local)).toBeUndefined();
    expect(outboundUrlProblem('https://[::1]/x', local)).toBeUndefined();
    expect(outboundUrlProblem('http://10.0.0.1/x', local)).toBe('must use https, not http');
    expect(outboundUrlProblem('https://169.254.169.254/x', local)).toBe(
      'points at 169.254.169.254, a metadata address; only public hosts are allowed',
    );
  });
});
