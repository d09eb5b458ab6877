import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import {
  bindingDir,
  CUDA_PROVIDER_LIBRARIES,
  checkCuda,
  DeviceError,
  sessionOptionsFor,
  unresolvedLibraries,
} from '../../src/pipeline/device.ts';

describe('devices', () => {
  it('opens CPU sessions with folding off and CUDA sessions on the CUDA provider with exact initializers', () => {
    const cpu = sessionOptionsFor('cpu');
    expect(cpu.executionProviders).toEqual(['cpu']);
    expect(cpu.extra).toEqual({ optimization: { disable_specified_optimizers: 'ConstantFolding' } });
    const cuda = sessionOptionsFor('cuda', 1);
    expect(cuda.executionProviders).toEqual([{ name: 'cuda', deviceId: 1 }]);
    expect(cuda.extra).toEqual({
      optimization: { disable_specified_optimizers: 'ConstantFolding' },
      session: { use_device_allocator_for_initializers: '1' },
    });
    expect(bindingDir()).toMatch(/onnxruntime-node\/bin\/napi-v6\/linux\/x64$/);
  });

  it('names the CUDA provider libraries a folder lacks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dragflow-cuda-'));
    try {
      const error = await checkCuda(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe('device_unavailable');
      expect((error as DeviceError).missing).toEqual([...CUDA_PROVIDER_LIBRARIES]);
      expect((error as Error).message).toBe(
        `onnxruntime's CUDA provider is not installed: libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so missing in ${dir} ` +
          '(install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 and its install script allowed)',
      );
      await writeFile(join(dir, 'libonnxruntime_providers_shared.so'), '');
      const one = await checkCuda(dir).catch((e: unknown) => e);
      expect((one as DeviceError).missing).toEqual(['libonnxruntime_providers_cuda.so']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads the libraries the dynamic loader cannot find from ldd's output", () => {
    const ldd = [
      '\tlinux-vdso.so.1 (0x00007ffd1b9f0000)',
      '\tlibcublasLt.so.12 => not found',
      '\tlibcublas.so.12 => not found',
      '\tlibcudart.so.12 => /usr/local/cuda/lib64/libcudart.so.12 (0x00007f0e1c000000)',
      '\tlibcudnn.so.9 => not found',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e1b800000)',
    ].join('\n');
    expect(unresolvedLibraries(ldd)).toEqual(['libcublasLt.so.12', 'libcublas.so.12', 'libcudnn.so.9']);
    expect(unresolvedLibraries('')).toEqual([]);
  });

  it('refuses an unknown --device before any work', async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      const code = await main(['edit', '--device', 'tpu', '--out', join(tmpdir(), 'never.png')]);
      expect(code).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toBe("error invalid_value: --device must be one of cpu, cuda, got 'tpu'\n");
  });
});
