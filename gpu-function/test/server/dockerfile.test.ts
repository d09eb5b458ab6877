/**
 * What can be checked of gpu-function/Dockerfile without a Docker engine: pinned bases (the Node
 * version the project pins, CUDA 12 with cuDNN), the CUDA provider download at build, a non-root
 * user, the port, the health check, the entrypoint, and that the environment it sets names real
 * settings and the files it copies exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/server/settings.ts';

const root = new URL('../../../', import.meta.url);
const dockerfile = readFileSync(new URL('gpu-function/Dockerfile', root), 'utf8');
/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\s*\\\n\s*/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.join('\n').split(/^(?=FROM )/m);
const finalStage = stages.at(-1)!;
const of = (keyword: string, text = instructions.join('\n')) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${keyword} `))
    .map((line) => line.slice(keyword.length + 1));

describe('gpu-function/Dockerfile', () => {
  it('pins every base image to an exact version', () => {
    const bases = of('FROM').map((from) => from.split(' ')[0]!);
    expect(bases).toEqual([
      'node:24.22.3-bookworm-slim',
      'nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04',
      'nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04',
    ]);
    const pinnedNode = /^NODE_VERSION=(.+)$/m.exec(
      readFileSync(new URL('infra/use-node.sh', root), 'utf8'),
    )![1];
    expect(bases[0]).toBe(`node:${pinnedNode}-bookworm-slim`);
    // onnxruntime-node 1.30's CUDA provider (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux) needs CUDA 12.x and cuDNN 9.x;
    // NVIDIA's 12.8 "cudnn" images carry cuDNN 9.
    expect(bases[1]).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-/);
  });

  it('fetches the CUDA 12 execution provider at build and checks it arrived', () => {
    expect(of('ENV')).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(of('RUN')).toContain(
      'cd node_modules/onnxruntime-node && node script/install.js && test -f bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so',
    );
    expect(of('RUN')).toContain('npm ci --omit=dev');
  });

  it('runs as a non-root user, exposes 5000, checks health and starts `dragflow serve`', () => {
    expect(of('USER', finalStage)).toEqual(['dragflow']);
    expect(of('RUN', finalStage).join(' ')).toContain('useradd --uid 10001');
    expect(of('EXPOSE', finalStage)).toEqual(['5000']);
    const healthcheck = of('HEALTHCHECK', finalStage);
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]).toContain('/health-check');
    expect(healthcheck[0]).toContain("['READY','BUSY'].includes(b.status)");
    expect(of('ENTRYPOINT', finalStage)).toEqual(['["node", "gpu-function/bin/dragflow.js", "serve"]']);
    expect(of('STOPSIGNAL', finalStage)).toEqual(['SIGTERM']);
  });

  it('sets only real settings in its environment', () => {
    const env = of('ENV', finalStage)
      .join(' ')
      .split(/\s+/)
      .map((pair) => pair.split('=')[0]!);
    expect(env).toEqual(['NODE_ENV', 'HOST', 'PORT', 'DRAGFLOW_BUNDLE', 'DRAGFLOW_CACHE']);
    const known = new Set<string>([...SETTINGS.map((s) => s.env), 'NODE_ENV', 'DRAGFLOW_CACHE']);
    expect(env.filter((name) => !known.has(name))).toEqual([]);
  });

  it('copies files that exist', () => {
    const sources = of('COPY')
      .filter((copy) => !copy.startsWith('--from'))
      .flatMap((copy) => copy.split(' ').slice(0, -1));
    expect(sources).toEqual([
      'package.json',
      'package-lock.json',
      '.npmrc',
      'shared/package.json',
      'gpu-function/package.json',
      'shared/src',
      'gpu-function/bin',
      'gpu-function/src',
    ]);
    for (const source of sources) expect(existsSync(new URL(source, root))).toBe(true);
  });
});
