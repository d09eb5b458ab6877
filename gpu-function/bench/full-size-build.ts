/**
 * Full-size bundle build check (`npm run bench:bundle`): builds a FLUX.1-dev bundle from a synthetic
 * checkpoint with the real key names and shapes (random bf16 transformer, f32 autoencoder, as
 * released), streamed from a generator so the 24 GB checkpoint never touches the disk. The bundle's
 * weight files are written and then verified when the disk has room, else counted and hashed by a
 * discarding sink. Prints time, throughput and peak resident memory (VmHWM); removes what it wrote.
 *
 *   npm run bench:bundle [-- --discard] [-- --out <dir>]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildCheckpointBundle, releasedModelSpec } from '../src/bundle/build.ts';
import { generatedCheckpoint } from '../src/bundle/checkpoint-source.ts';
import { randomParameter } from '../src/bundle/random-weights.ts';
import { inspectBundle } from '../src/bundle/verify.ts';
import {
  autoEncoderCheckpointKeys,
  fluxCheckpointKeys,
  parameterCount,
} from '../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, fluxConfigs } from '../src/flux/config.ts';

const SEED = 1;
/** bf16 values per generated chunk (4 MiB). */
const CHUNK_VALUES = 2 * 1024 * 1024;
/** Room left on the disk beyond the bundle before the weights are really written. */
const DISK_MARGIN_BYTES = 8 * 1024 ** 3;
const GIB = 1024 ** 3;

/**
 * Random bf16 values fast enough for 12 billion of them: an xorshift32 word gives two values with
 * random sign and mantissa and a fixed exponent, so every value is finite, in +-[2^-7, 2^-6).
 */
function* syntheticBf16(name: string, count: number): Generator<Uint8Array> {
  let state = SEED;
  for (let i = 0; i < name.length; i++) state = Math.imul(state ^ name.charCodeAt(i), 0x01000193) | 1;
  let left = count;
  while (left > 0) {
    const values = Math.min(left, CHUNK_VALUES);
    const words = new Uint32Array(Math.ceil(values / 2));
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      words[i] = (state & 0x807f807f) | 0x3c003c00;
    }
    left -= values;
    yield new Uint8Array(words.buffer, 0, values * 2);
  }
}

function peakResidentBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { discard: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const spec = releasedModelSpec('flux1-dev');
  const transformerKeys = fluxCheckpointKeys(fluxConfigs['flux1-dev']);
  const aeKeys = autoEncoderCheckpointKeys(autoEncoderConfigs['flux1-ae']);
  const transformer = generatedCheckpoint('flux1-dev.safetensors', transformerKeys, 'BF16', (t) =>
    syntheticBf16(t.name, t.bytes / 2),
  );
  const autoencoder = generatedCheckpoint('ae.safetensors', aeKeys, 'F32', (t) =>
    randomParameter(SEED, t.name, t.shape, 'F32'),
  );
  const checkpointBytes = [...transformer.tensors, ...autoencoder.tensors].reduce(
    (sum, t) => sum + t.bytes,
    0,
  );
  // bf16 storage: the bundle's weights are the transformer as is plus the autoencoder halved.
  const bundleBytes = checkpointBytes - autoencoder.tensors.reduce((sum, t) => sum + t.bytes / 2, 0);

  const parent = values.out ?? tmpdir();
  const free = await statfs(parent).then((s) => s.bavail * s.bsize);
  const discard = values.discard || free < bundleBytes + DISK_MARGIN_BYTES;
  const work = await mkdtemp(join(parent, 'dragflow-full-size-'));
  const out = join(work, 'flux1-dev');
  process.stdout.write(
    `synthetic flux1-dev: ${parameterCount(transformerKeys).toLocaleString('en')} transformer + ` +
      `${parameterCount(aeKeys).toLocaleString('en')} autoencoder parameters, ${gib(checkpointBytes)} streamed ` +
      `from a generator; weights ${discard ? 'DISCARDED (hashed only)' : `written to ${out}`} ` +
      `(${gib(free)} free, ${gib(bundleBytes)} needed)\n`,
  );
  try {
    let written = 0;
    let nextReport = 4 * GIB;
    const started = performance.now();
    const { body, weightBytes } = await buildCheckpointBundle(spec, transformer, autoencoder, out, {
      storage: 'bfloat16',
      discardWeights: discard,
      onTensor: (_file, _name, bytes) => {
        written += bytes;
        if (written >= nextReport) {
          nextReport += 4 * GIB;
          const seconds = (performance.now() - started) / 1000;
          process.stdout.write(
            `  ${gib(written)} after ${seconds.toFixed(0)} s, peak RSS ${gib(peakResidentBytes())}\n`,
          );
        }
      },
    });
    const buildSeconds = (performance.now() - started) / 1000;
    const source = body.source.kind === 'checkpoint' ? body.source.weights : [];
    process.stdout.write(
      `build: ${buildSeconds.toFixed(1)} s, ${(weightBytes / GIB / buildSeconds).toFixed(2)} GiB/s, ` +
        `${gib(weightBytes)} of weights in ${body.weight_files.length} files, ` +
        `${body.graphs.length} graphs (${body.graphs.map((g) => g.name).join(', ')})\n` +
        `source sha256: ${source.map((s) => `${s.file} ${s.sha256}`).join(', ')}\n` +
        `peak resident memory after build: ${gib(peakResidentBytes())}\n`,
    );
    if (!discard) {
      const verifyStarted = performance.now();
      const report = await inspectBundle(out);
      const verifySeconds = (performance.now() - verifyStarted) / 1000;
      process.stdout.write(
        `verify: ${report.problems.length === 0 ? 'intact' : `${report.problems.length} PROBLEMS`}, ` +
          `${gib(report.bytesHashed)} hashed in ${verifySeconds.toFixed(1)} s\n`,
      );
      if (report.problems.length > 0) process.exitCode = 1;
    }
    process.stdout.write(`peak resident memory (VmHWM): ${gib(peakResidentBytes())}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
