/** Accounts: a name, a balance (ledger.ts) and the whsec_ secret its customer webhooks are signed with. */
import { newId } from '../crypto.ts';
import { newWebhookSecret } from '../webhooks/signature.ts';

export interface AccountRow {
  readonly id: string;
  readonly name: string;
  readonly available: number;
  readonly held: number;
  readonly webhook_secret: string;
  readonly created_at: string;
}

export async function createAccount(db: D1Database, name: string): Promise<AccountRow> {
  const row: AccountRow = {
    id: newId('acct'),
    name,
    available: 0,
    held: 0,
    webhook_secret: newWebhookSecret(),
    created_at: new Date().toISOString(),
  };
  await db
    .prepare(
      'INSERT INTO accounts (id, name, available, held, webhook_secret, created_at) VALUES (?, ?, 0, 0, ?, ?)',
    )
    .bind(row.id, row.name, row.webhook_secret, row.created_at)
    .run();
  return row;
}

export function findAccount(db: D1Database, id: string): Promise<AccountRow | null> {
  return db.prepare('SELECT * FROM accounts WHERE id = ?').bind(id).first<AccountRow>();
}
