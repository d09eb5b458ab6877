import { afterEach, describe, expect, it, vi } from 'vitest';
import { graph } from '../../src/cli/graph.ts';
import { opInference } from '../../src/graph/ops.ts';
import { gradientRules } from '../../src/graph/rules.ts';

function capture(stream: NodeJS.WriteStream): () => string {
  const chunks: string[] = [];
  vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return () => chunks.join('');
}

const context = { signal: new AbortController().signal };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('dragflow graph ops', () => {
  it('lists one op per line with its gradient status, sorted', async () => {
    const stdout = capture(process.stdout);
    expect(await graph.run(['ops'], context)).toBe(0);
    const lines = stdout().trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^[A-Za-z]+\t(grad|forward-only)$/);
    expect(lines).toContain('MatMul\tgrad');
    expect(lines).toContain('GridSample\tgrad');
    expect(lines).toContain('LayerNormalization\tgrad');
    expect(lines).toContain('Floor\tforward-only');
    expect(lines).toContain('Sin\tgrad');
    expect(lines).toContain('Cos\tgrad');
    const names = lines.map((l) => l.split('\t')[0]!);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(Object.keys(opInference).sort());
    const withGradient = lines.filter((l) => l.endsWith('\tgrad')).map((l) => l.split('\t')[0]);
    expect(withGradient).toEqual(Object.keys(gradientRules).sort());
  });

  it('rejects anything but `ops` with usage and exit code 2', async () => {
    const stderr = capture(process.stderr);
    expect(await graph.run(['list'], context)).toBe(2);
    expect(stderr()).toBe("error usage: expected 'ops', got 'list' (see dragflow graph --help)\n");
  });
});
