/**
 * The prompt tokenizers against ids from independent implementations, on the committed prompt set
 * (fixtures/prompts.json) and small tokenizer files made for the tests (fixtures/make-fixtures.py):
 * T5 against SentencePiece itself (fixtures/make-expected-t5.py, Debian python3-sentencepiece),
 * CLIP against Hugging Face's Rust tokenizers (fixtures/make-expected-clip.mjs).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TextModelError } from '../../src/text/errors.ts';
import { parseSentencePieceModel } from '../../src/text/sentencepiece-model.ts';
import { loadPromptTokenizers } from '../../src/text/tokenizer-files.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const prompts: string[] = JSON.parse(readFileSync(`${FIXTURES}prompts.json`, 'utf8'));
const expectedT5: { pad_id: number; ids: Record<string, number[][]> } = JSON.parse(
  readFileSync(`${FIXTURES}expected-t5.json`, 'utf8'),
);
const expectedClip: { ids: number[][] } = JSON.parse(readFileSync(`${FIXTURES}expected-clip.json`, 'utf8'));

/** Prompts per kind, so the set is known to hold every kind the reference must agree on. */
function kinds(): Record<string, number> {
  const has = (re: RegExp) => prompts.filter((p) => re.test(p)).length;
  return {
    empty: prompts.filter((p) => p.trim() === '').length,
    nonAscii: prompts.filter((p) => [...p].some((c) => c.codePointAt(0)! > 0x7f)).length,
    emoji: has(/\p{Extended_Pictographic}/u),
    whitespaceRuns: has(/\s{2,}|^\s|\s$/),
    over1000Chars: prompts.filter((p) => p.length > 1000).length,
  };
}

describe('prompt tokenizers vs independent references', () => {
  it('covers at least 200 prompts of every kind', () => {
    const count = kinds();
    console.log(`${prompts.length} prompts: ${JSON.stringify(count)}`);
    expect(prompts.length).toBeGreaterThanOrEqual(200);
    expect(prompts).toContain('');
    for (const n of Object.values(count)) expect(n).toBeGreaterThanOrEqual(5);
  });

  for (const length of [512, 256]) {
    it(`T5 (max length ${length}) gives SentencePiece's ids for every prompt`, async () => {
      const { t5 } = await loadPromptTokenizers(FIXTURES, { t5: length, clip: 77 });
      const rows = expectedT5.ids[String(length)]!;
      let truncated = 0;
      const mismatches = prompts.filter((prompt, i) => {
        const expected = [
          ...rows[i]!,
          ...new Array<number>(length - rows[i]!.length).fill(expectedT5.pad_id),
        ];
        if (rows[i]!.length === length) truncated++;
        return JSON.stringify(t5.encode(prompt)) !== JSON.stringify(expected);
      });
      console.log(
        `T5 ${length}: ${prompts.length - mismatches.length}/${prompts.length} identical, ${truncated} truncated`,
      );
      expect(mismatches).toEqual([]);
      expect(truncated).toBeGreaterThanOrEqual(5);
      expect(t5.encode('')).toEqual([t5.eosId, ...new Array<number>(length - 1).fill(t5.padId)]);
    });
  }

  it("CLIP (77) gives the Rust tokenizers' ids for every prompt", async () => {
    const { clip } = await loadPromptTokenizers(FIXTURES, { t5: 512, clip: 77 });
    const mismatches = prompts.filter(
      (prompt, i) => JSON.stringify(clip.encode(prompt)) !== JSON.stringify(expectedClip.ids[i]),
    );
    const full = expectedClip.ids.filter((row) => row[75] !== clip.eosId).length;
    console.log(
      `CLIP 77: ${prompts.length - mismatches.length}/${prompts.length} identical, ${full} filling all 77 positions`,
    );
    expect(mismatches).toEqual([]);
    expect(full).toBeGreaterThanOrEqual(5);
    expect(clip.encode('')).toEqual([clip.bosId, ...new Array<number>(76).fill(clip.eosId)]);
  });

  it('keeps emoji joined by U+200D as SentencePiece does (the NFKC approximation would split them)', async () => {
    const { t5 } = await loadPromptTokenizers(FIXTURES, { t5: 512, clip: 77 });
    expect(t5.normalize('family 👨\u200d👩 photo')).toBe('\u2581family\u2581👨\u200d👩\u2581photo');
    expect(t5.normalize('  a \t\n b  ')).toBe('\u2581a\u2581b');
    expect(t5.normalize('ＡＢＣ ﬁ ①')).toBe('\u2581ABC\u2581fi\u25811');
  });

  it('refuses broken tokenizer files with a precise error', async () => {
    expect(() =>
      parseSentencePieceModel(Uint8Array.from([0xff, 0xff, 0xff]), 'tokenizer_2/spiece.model'),
    ).toThrow(/tokenizer_2\/spiece.model: not a SentencePiece model/);
    await expect(loadPromptTokenizers('/nonexistent', { t5: 512, clip: 77 })).rejects.toThrow(TextModelError);
    await expect(loadPromptTokenizers('/nonexistent', { t5: 512, clip: 77 })).rejects.toThrow(
      /tokenizer\/special_tokens_map.json is missing/,
    );
  });
});
