/** The Durable Object of an edit, and the D1 row that says which account owns it. */
import type { Env } from '../config.ts';
import { HttpError } from '../http/api-error.ts';

export function editStub(env: Env, editId: string) {
  return env.EDITS.get(env.EDITS.idFromName(editId));
}

export interface OwnedEdit {
  readonly id: string;
  readonly price: number;
  readonly created_at: string;
}

/** The edit if this account owns it; otherwise 404, the same answer as for an id that does not exist. */
export async function requireOwnEdit(db: D1Database, accountId: string, editId: string): Promise<OwnedEdit> {
  const row = await db
    .prepare('SELECT id, price, created_at FROM edits WHERE id = ? AND account_id = ?')
    .bind(editId, accountId)
    .first<OwnedEdit>();
  if (!row) throw new HttpError('not_found', `no edit ${editId} in this account`);
  return row;
}
