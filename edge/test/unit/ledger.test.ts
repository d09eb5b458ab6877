/** The ledger in D1: holds, captures and releases happen at most once per edit, whatever the concurrency. */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.ts';
import { addCredits, balanceOf, ledgerLines, settleHold, submitWithHold } from '../../src/billing/ledger.ts';

async function funded(credits: number): Promise<string> {
  const account = await createAccount(env.DB, 'ledger test');
  await addCredits(env.DB, account.id, credits, 'test');
  return account.id;
}

function edit(accountId: string, id: string, price: number, key?: string) {
  return { id, accountId, idempotencyKey: key, requestHash: 'h', price, createdAt: new Date().toISOString() };
}

describe('ledger', () => {
  it('captures or releases a hold once, and never both, under concurrent calls', async () => {
    const accountId = await funded(100);
    expect(await submitWithHold(env.DB, edit(accountId, 'ed_l1', 30))).toEqual({ kind: 'created' });
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => settleHold(env.DB, 'ed_l1', 'capture')),
      ...Array.from({ length: 5 }, () => settleHold(env.DB, 'ed_l1', 'release')),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const balance = await balanceOf(env.DB, accountId);
    const kinds = (await ledgerLines(env.DB, accountId, 10)).map((line) => line.kind).reverse();
    expect(kinds.slice(0, 2)).toEqual(['credit', 'hold']);
    expect(kinds).toHaveLength(3);
    expect(balance).toEqual(
      kinds[2] === 'capture' ? { available: 70, held: 0 } : { available: 100, held: 0 },
    );
  });

  it('holds nothing when the balance is short, and nothing twice for one key', async () => {
    const accountId = await funded(50);
    expect(await submitWithHold(env.DB, edit(accountId, 'ed_l2', 60))).toEqual({ kind: 'insufficient' });
    const outcomes = await Promise.all(
      ['ed_l3', 'ed_l4', 'ed_l5'].map((id) => submitWithHold(env.DB, edit(accountId, id, 20, 'same-key'))),
    );
    expect(outcomes.filter((outcome) => outcome.kind === 'created')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.kind === 'existing')).toHaveLength(2);
    expect(await balanceOf(env.DB, accountId)).toEqual({ available: 30, held: 20 });
    expect(await settleHold(env.DB, 'ed_unknown', 'capture')).toBe(false);
  });
});
