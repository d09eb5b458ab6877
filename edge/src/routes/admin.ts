/**
 * /admin: accounts, API keys and credits, for operators holding ADMIN_TOKEN (Bearer). Without
 * ADMIN_TOKEN set the routes answer 404. edge/scripts/admin.ts wraps them for a terminal.
 */
import { validate } from '@dragflow/shared';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { createAccount, findAccount } from '../accounts/accounts.ts';
import { createApiKey, revokeApiKey } from '../auth/api-keys.ts';
import { addCredits } from '../billing/ledger.ts';
import { timingSafeEqualText } from '../crypto.ts';
import { HttpError } from '../http/api-error.ts';
import type { AppEnv } from '../http/app-env.ts';
import { readJson } from '../http/body.ts';
import { allowOnly } from '../http/methods.ts';

const NewAccountSchema = z.strictObject({
  name: z.string().min(1).max(200),
  credits: z.number().int().min(0).max(1_000_000_000).optional(),
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).optional(),
});
const NewKeySchema = z.strictObject({
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).optional(),
});
const CreditsSchema = z.strictObject({
  amount: z.number().int().min(1).max(1_000_000_000),
  note: z.string().max(500).optional(),
});

async function body<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const { json } = await readJson(c.req.raw, 65536, 'admin request body');
  const parsed = validate(schema, json);
  if (!parsed.ok) throw HttpError.fromContract(parsed.errors);
  return parsed.value;
}

const admin = new Hono<AppEnv>();

admin.use('*', async (c, next) => {
  const token = c.var.config.adminToken;
  if (!token) throw new HttpError('not_found', 'admin routes are disabled (ADMIN_TOKEN is not set)');
  if (!timingSafeEqualText(c.req.header('authorization') ?? '', `Bearer ${token}`)) {
    throw new HttpError('unauthorized', 'admin routes need Authorization: Bearer <ADMIN_TOKEN>');
  }
  await next();
});

admin.post('/accounts', async (c) => {
  const input = await body(c, NewAccountSchema);
  const account = await createAccount(c.env.DB, input.name);
  const key = await createApiKey(c.env.DB, account.id, input.rate_limit_per_minute ?? null);
  const balance = input.credits
    ? await addCredits(c.env.DB, account.id, input.credits, 'initial credits')
    : { available: 0, held: 0 };
  return c.json(
    {
      account: {
        id: account.id,
        name: account.name,
        available_credits: balance.available,
        held_credits: balance.held,
      },
      api_key: key,
      webhook_secret: account.webhook_secret,
    },
    201,
  );
});
allowOnly(admin, '/accounts', ['POST']);

async function requireAccount(c: Context<AppEnv>) {
  const account = await findAccount(c.env.DB, c.req.param('id')!);
  if (!account) throw new HttpError('not_found', `no account ${c.req.param('id')}`);
  return account;
}

admin.get('/accounts/:id', async (c) => {
  const account = await requireAccount(c);
  return c.json({
    id: account.id,
    name: account.name,
    available_credits: account.available,
    held_credits: account.held,
  });
});
allowOnly(admin, '/accounts/:id', ['GET']);

admin.post('/accounts/:id/keys', async (c) => {
  const account = await requireAccount(c);
  const input = await body(c, NewKeySchema);
  return c.json(await createApiKey(c.env.DB, account.id, input.rate_limit_per_minute ?? null), 201);
});
allowOnly(admin, '/accounts/:id/keys', ['POST']);

admin.post('/accounts/:id/credits', async (c) => {
  const account = await requireAccount(c);
  const input = await body(c, CreditsSchema);
  const balance = await addCredits(c.env.DB, account.id, input.amount, input.note ?? 'credits added');
  return c.json({ available_credits: balance.available, held_credits: balance.held });
});
allowOnly(admin, '/accounts/:id/credits', ['POST']);

admin.post('/keys/:id/revoke', async (c) => {
  if (!(await revokeApiKey(c.env.DB, c.req.param('id')))) {
    throw new HttpError('not_found', `no active key ${c.req.param('id')}`);
  }
  return c.json({ revoked: true });
});
allowOnly(admin, '/keys/:id/revoke', ['POST']);

export { admin };
