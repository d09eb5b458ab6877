/** /v1/usage: the account's balance (available and held credits) and its ledger, newest first. */
import { Hono } from 'hono';
import { balanceOf, ledgerLines } from '../billing/ledger.ts';
import { HttpError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { allowOnly } from '../http/methods.ts';

const MAX_LINES = 100;

const usage = new Hono<AppEnv>();

function positiveInt(value: string | undefined, name: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1 || number > max) {
    throw new HttpError(
      'out_of_range',
      `${name}: must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

usage.get('/', async (c) => {
  const { accountId } = c.var.caller;
  const limit = positiveInt(c.req.query('limit'), 'limit', MAX_LINES) ?? MAX_LINES;
  const before = positiveInt(c.req.query('before'), 'before', Number.MAX_SAFE_INTEGER);
  const [balance, lines] = await Promise.all([
    balanceOf(c.env.DB, accountId),
    ledgerLines(c.env.DB, accountId, limit, before),
  ]);
  return c.json({
    available_credits: balance.available,
    held_credits: balance.held,
    ledger: lines,
    next_before: lines.length === limit ? lines.at(-1)!.id : null,
  });
});
allowOnly(usage, '/', ['GET']);

export { usage };
