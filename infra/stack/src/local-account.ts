/**
 * The local account: created through the edge's /admin routes on first start, its API key kept in
 * the state folder (mode 0600; the edge stores only a hash) and reused while it still works, its
 * credits topped up at every start.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LocalAccount {
  readonly accountId: string;
  readonly apiKey: string;
  readonly availableCredits: number;
}

interface Stored {
  accountId: string;
  apiKey: string;
}

class AdminError extends Error {}

async function call(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AdminError(`${method} ${path} answered ${response.status} with a body that is not JSON`);
  }
  return { status: response.status, json };
}

function expectStatus(
  result: { status: number; json: Record<string, unknown> },
  status: number,
  what: string,
): Record<string, unknown> {
  if (result.status !== status) {
    throw new AdminError(`${what}: the edge answered ${result.status} ${JSON.stringify(result.json)}`);
  }
  return result.json;
}

async function readStored(file: string): Promise<Stored | undefined> {
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Stored>;
    if (typeof stored.accountId === 'string' && typeof stored.apiKey === 'string') {
      return { accountId: stored.accountId, apiKey: stored.apiKey };
    }
  } catch {
    // None yet, or damaged: a new account is made.
  }
  return undefined;
}

/** Whether the stored key still authenticates (a fresh database forgets it). */
async function keyWorks(baseUrl: string, apiKey: string): Promise<boolean> {
  const response = await fetch(`${baseUrl}/v1/usage`, { headers: { authorization: `Bearer ${apiKey}` } });
  await response.body?.cancel();
  return response.status === 200;
}

/** The local account with at least `credits` available, made or reused. */
export async function ensureLocalAccount(
  baseUrl: string,
  adminToken: string,
  stateDir: string,
  credits: number,
): Promise<LocalAccount> {
  const file = join(stateDir, 'local-account.json');
  let stored = await readStored(file);
  if (stored && !(await keyWorks(baseUrl, stored.apiKey))) stored = undefined;
  if (!stored) {
    const created = expectStatus(
      await call(baseUrl, adminToken, 'POST', '/admin/accounts', { name: 'local', credits }),
      201,
      'creating the local account',
    );
    const account = created.account as { id: string; available_credits: number };
    const key = created.api_key as { key: string };
    await writeFile(file, `${JSON.stringify({ accountId: account.id, apiKey: key.key }, null, 2)}\n`, {
      mode: 0o600,
    });
    await chmod(file, 0o600);
    return { accountId: account.id, apiKey: key.key, availableCredits: account.available_credits };
  }
  const path = `/admin/accounts/${encodeURIComponent(stored.accountId)}`;
  const account = expectStatus(
    await call(baseUrl, adminToken, 'GET', path),
    200,
    'reading the local account',
  );
  let available = account.available_credits as number;
  if (available < credits) {
    const topped = expectStatus(
      await call(baseUrl, adminToken, 'POST', `${path}/credits`, {
        amount: credits - available,
        note: 'local stack top-up',
      }),
      200,
      'topping up the local credits',
    );
    available = topped.available_credits as number;
  }
  return { accountId: stored.accountId, apiKey: stored.apiKey, availableCredits: available };
}
