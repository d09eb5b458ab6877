import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/dragflow.js', import.meta.url));

function dragflow(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundle-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('dragflow bundle', () => {
  it('builds a random tiny bundle, verifies it, and names a flipped byte without a stack trace', async () => {
    const out = join(root, 'tiny');
    const built = dragflow('bundle', 'build', '--random', '--config', 'tiny', '--seed', '9', '--out', out);
    expect(built.code).toBe(0);
    expect(built.stdout).toBe(
      `${out}: flux1/tiny bundle written (8 files, 1864076 weight bytes, graphs: velocity, features, drag_step, vae_encoder, vae_decoder)\n`,
    );
    const intact = dragflow('bundle', 'verify', out);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(
      /: intact \(flux1\/tiny, 8 files, \d+ bytes hashed, licence dragflow-random-weights/,
    );
    const path = join(out, 'features.onnx');
    const bytes = await readFile(path);
    bytes[100] = bytes[100]! ^ 0x04;
    await writeFile(path, bytes);
    const broken = dragflow('bundle', 'verify', out);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(
      /^bundle_hash_mismatch: features\.onnx: sha256 [0-9a-f]{64} differs from the manifest's/,
    );
    expect(broken.stderr).toContain('is NOT intact (1 problem(s))');
    expect(broken.stderr).not.toMatch(/\n\s+at /);
  });

  it('answers bad input with one line and exit code 2', () => {
    const missing = join(root, 'nothing-here');
    const cases: [string[], number, string][] = [
      [['verify', missing], 2, `bundle_not_found: ${missing} is not a bundle directory`],
      [
        ['build', '--random', '--config', 'tiny', '--seed', 'x', '--out', join(root, 'b')],
        2,
        '--seed must be an integer',
      ],
      [
        ['build', '--random', '--config', 'huge', '--seed', '1', '--out', join(root, 'b')],
        2,
        '--config must be one of: tiny',
      ],
      [
        ['build', '--from', root, '--model', 'flux2', '--out', join(root, 'c')],
        2,
        '--model must be one of: flux1-dev, flux1-schnell',
      ],
      [
        ['build', '--from', root, '--model', 'flux1-dev', '--out', join(root, 'd')],
        2,
        `error bundle_source_invalid: ${join(root, 'flux1-dev.safetensors')} not found; --from must hold flux1-dev.safetensors\n`,
      ],
      [
        ['build', '--out', join(root, 'e'), '--speed'],
        2,
        'error usage: unknown option --speed (see dragflow bundle build --help)\n',
      ],
      [['frobnicate'], 2, "error usage: unknown subcommand 'frobnicate' (see dragflow bundle --help)\n"],
    ];
    for (const [args, code, message] of cases) {
      const result = dragflow('bundle', ...args);
      expect(result.code).toBe(code);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
