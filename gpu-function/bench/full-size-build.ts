/**
 * Full-size bundle build check (`npm run bench:bundle`): builds a FLUX.1-dev bundle from a synthetic
 * checkpoint with the real key names and shapes (random bf16 transformer, f32 autoencoder, as
 * released), streamed from a generator so the 24 GB checkpoint never touches the disk. The bundle's
 * weight files are written and then verified when the disk has room, else counted and hashed by a
 * discarding sink. Prints time, throughput and peak resident memory (VmHWM); removes what it wrote.
 *
 *   npm run bench:bundle [-- --discard] [-- --out <dir>]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { inspectBundle } from '../src/bundle/verify.ts';
import {
  autoEncoderCheckpointKeys,
  fluxCheckpointKeys,
  parameterCount,
} from '../src/flux/checkpoint-keys.ts';
import { autoEncoderConfigs, fluxConfigs } from '../src/flux/config.ts';
import {
  buildSyntheticBundle,
  DISK_MARGIN_BYTES,
  freeBytes,
  GIB,
  gib,
  peakResidentBytes,
  syntheticCheckpoints,
} from './synthetic-flux.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { discard: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const transformerKeys = fluxCheckpointKeys(fluxConfigs['flux1-dev']);
  const aeKeys = autoEncoderCheckpointKeys(autoEncoderConfigs['flux1-ae']);
  const checkpoints = syntheticCheckpoints();
  const { checkpointBytes, bundleBytes } = checkpoints;

  const parent = values.out ?? tmpdir();
  const free = await freeBytes(parent);
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
    const { body, weightBytes } = await buildSyntheticBundle(checkpoints, out, {
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
