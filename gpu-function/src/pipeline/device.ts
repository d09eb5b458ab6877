/**
 * Where the transformer runs, and the onnxruntime session options that go with it. Every runtime
 * session keeps memory flat: constant folding is off (it would turn each Cast of a bfloat16 weight
 * into a float32 copy held next to the original), external weights stay memory-mapped on the CPU,
 * and on CUDA initializers are allocated at their size (not rounded up in the arena).
 *
 * CUDA: onnxruntime-node passes only the device id to its CUDA provider (no memory limit, no CUDA
 * graphs). Its provider libraries come with onnxruntime-node's install script
 * (ONNXRUNTIME_NODE_INSTALL=cuda12); when they or their CUDA/cuDNN dependencies cannot load,
 * onnxruntime itself only says "Failed to load shared library", so `checkCuda` names what is missing.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type * as ort from 'onnxruntime-node';
import { type ComputeDtype, DEVICE_COMPUTE } from '../flux/precision.ts';

export const DEVICES = ['cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/** The device a run asked for could not be used; `missing` names the libraries at fault. */
export class DeviceError extends Error {
  readonly code = 'device_unavailable';

  constructor(
    message: string,
    readonly missing: readonly string[],
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}

/** Session options of every runtime graph (a fixed thread count keeps float sums in one order). */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  logSeverityLevel: 3,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } },
};

export function sessionOptionsFor(device: Device, deviceId = 0): ort.InferenceSession.SessionOptions {
  if (device === 'cpu') return { ...SESSION_OPTIONS, executionProviders: ['cpu'] };
  return {
    ...SESSION_OPTIONS,
    executionProviders: [{ name: 'cuda', deviceId }],
    extra: {
      ...SESSION_OPTIONS.extra,
      // Weights allocated at their size, not rounded up inside the device arena.
      session: { use_device_allocator_for_initializers: '1' },
    },
  };
}

export function computeFor(device: Device): ComputeDtype {
  return DEVICE_COMPUTE[device];
}

/** The folder of onnxruntime-node's native binding, where its provider libraries must be. */
export function bindingDir(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node');
  // .../onnxruntime-node/dist/index.js -> .../onnxruntime-node/bin/napi-v6/<platform>/<arch>
  return join(dirname(dirname(main)), 'bin', 'napi-v6', process.platform, process.arch);
}

export const CUDA_PROVIDER_LIBRARIES = [
  'libonnxruntime_providers_shared.so',
  'libonnxruntime_providers_cuda.so',
] as const;

/** The `=> not found` lines of `ldd` (the shared libraries the dynamic loader cannot find). */
export function unresolvedLibraries(lddOutput: string): string[] {
  return [...lddOutput.matchAll(/^\s*(\S+)\s+=>\s+not found/gm)].map((m) => m[1]!);
}

/**
 * Throws a DeviceError naming what keeps onnxruntime's CUDA provider from loading: its own
 * libraries next to the binding, then the CUDA and cuDNN libraries they link (via `ldd`).
 */
export async function checkCuda(dir = bindingDir()): Promise<void> {
  if (process.platform !== 'linux') {
    throw new DeviceError(`the CUDA provider is supported on Linux only, not ${process.platform}`, []);
  }
  const absent: string[] = [];
  for (const library of CUDA_PROVIDER_LIBRARIES) {
    if (!(await stat(join(dir, library)).catch(() => null))) absent.push(library);
  }
  if (absent.length) {
    throw new DeviceError(
      `onnxruntime's CUDA provider is not installed: ${absent.join(', ')} missing in ${dir} ` +
        '(install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 and its install script allowed)',
      absent,
    );
  }
  const provider = join(dir, 'libonnxruntime_providers_cuda.so');
  const { stdout } = await promisify(execFile)('ldd', [provider]).catch((error: { stdout?: string }) => ({
    stdout: error.stdout ?? '',
  }));
  const missing = unresolvedLibraries(stdout);
  if (missing.length) {
    throw new DeviceError(
      `onnxruntime's CUDA provider cannot load: ${missing.join(', ')} not found by the dynamic loader ` +
        '(install CUDA 12 and cuDNN 9, or add their lib folders to LD_LIBRARY_PATH)',
      missing,
    );
  }
}
