/**
 * Prepaid credits in D1. `accounts.available` and `accounts.held` are the balance; every change
 * writes a ledger line, and both happen in one D1 batch (a transaction). UNIQUE (edit_id, kind)
 * on the ledger makes each of hold, capture and release happen at most once per edit, and a
 * capture and a release of the same hold exclude each other, so no retry, race or duplicate
 * callback can charge twice or refund a charge.
 */
import { HttpError } from '../http/api-error.ts';

export interface LedgerLine {
  readonly id: number;
  readonly edit_id: string | null;
  readonly kind: 'credit' | 'hold' | 'capture' | 'release';
  readonly amount: number;
  readonly note: string | null;
  readonly created_at: string;
}

export interface Balance {
  readonly available: number;
  readonly held: number;
}

export interface NewEdit {
  readonly id: string;
  readonly accountId: string;
  readonly idempotencyKey: string | undefined;
  readonly requestHash: string;
  readonly price: number;
  readonly createdAt: string;
}

export interface EditRow {
  readonly id: string;
  readonly request_hash: string;
  readonly price: number;
  readonly created_at: string;
}

export type SubmitOutcome =
  | { readonly kind: 'created' }
  | { readonly kind: 'existing'; readonly edit: EditRow }
  | { readonly kind: 'insufficient' };

/**
 * Records a new edit and holds its price, atomically: the edit row, the balance move and the
 * hold line are written together or not at all. With an Idempotency-Key already used by this
 * account, nothing is written and the earlier edit comes back.
 */
export async function submitWithHold(db: D1Database, edit: NewEdit): Promise<SubmitOutcome> {
  const key = edit.idempotencyKey ?? null;
  const results = await db.batch([
    db
      .prepare(
        'INSERT OR IGNORE INTO edits (id, account_id, idempotency_key, request_hash, price, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .bind(edit.id, edit.accountId, key, edit.requestHash, edit.price, edit.createdAt),
    db
      .prepare(
        'UPDATE accounts SET available = available - ?1, held = held + ?1 WHERE id = ?2 AND available >= ?1 AND changes() = 1',
      )
      .bind(edit.price, edit.accountId),
    db
      .prepare(
        "INSERT INTO ledger (account_id, edit_id, kind, amount, created_at) SELECT ?, ?, 'hold', ?, ? WHERE changes() = 1",
      )
      .bind(edit.accountId, edit.id, edit.price, edit.createdAt),
    db
      .prepare(
        "DELETE FROM edits WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM ledger WHERE edit_id = ?1 AND kind = 'hold')",
      )
      .bind(edit.id),
    db
      .prepare(
        'SELECT id, request_hash, price, created_at FROM edits WHERE account_id = ? AND (id = ? OR idempotency_key = ?)',
      )
      .bind(edit.accountId, edit.id, key),
  ]);
  const rows = (results[4]?.results ?? []) as EditRow[];
  if (rows.some((row) => row.id === edit.id)) return { kind: 'created' };
  const existing = rows[0];
  return existing ? { kind: 'existing', edit: existing } : { kind: 'insufficient' };
}

/** The edit this account submitted under an Idempotency-Key, if any. */
export async function findByIdempotencyKey(
  db: D1Database,
  accountId: string,
  key: string,
): Promise<EditRow | null> {
  return db
    .prepare(
      'SELECT id, request_hash, price, created_at FROM edits WHERE account_id = ? AND idempotency_key = ?',
    )
    .bind(accountId, key)
    .first<EditRow>();
}

export type Settlement = 'capture' | 'release';

/**
 * Captures (charges) or releases (refunds) an edit's hold. Idempotent: true only for the call
 * that moved the credits; a repeat, or the opposite settlement after the first, changes nothing.
 */
export async function settleHold(db: D1Database, editId: string, settlement: Settlement): Promise<boolean> {
  const now = new Date().toISOString();
  const balanceChange =
    settlement === 'capture'
      ? 'held = held - (SELECT amount FROM ledger WHERE edit_id = ?1 AND kind = ?2)'
      : 'held = held - (SELECT amount FROM ledger WHERE edit_id = ?1 AND kind = ?2), available = available + (SELECT amount FROM ledger WHERE edit_id = ?1 AND kind = ?2)';
  const results = await db.batch([
    db
      .prepare(
        `INSERT OR IGNORE INTO ledger (account_id, edit_id, kind, amount, created_at)
         SELECT account_id, edit_id, ?2, amount, ?3 FROM ledger
         WHERE edit_id = ?1 AND kind = 'hold'
           AND NOT EXISTS (SELECT 1 FROM ledger WHERE edit_id = ?1 AND kind IN ('capture', 'release'))`,
      )
      .bind(editId, settlement, now),
    db
      .prepare(
        `UPDATE accounts SET ${balanceChange}
         WHERE changes() = 1 AND id = (SELECT account_id FROM ledger WHERE edit_id = ?1 AND kind = 'hold')`,
      )
      .bind(editId, settlement),
  ]);
  return results[0]?.meta.changes === 1;
}

export async function addCredits(
  db: D1Database,
  accountId: string,
  amount: number,
  note: string,
): Promise<Balance> {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new HttpError(
      'out_of_range',
      `amount: must be a positive integer number of credits, got ${amount}`,
    );
  }
  const results = await db.batch([
    db.prepare('UPDATE accounts SET available = available + ? WHERE id = ?').bind(amount, accountId),
    db
      .prepare(
        "INSERT INTO ledger (account_id, edit_id, kind, amount, note, created_at) SELECT ?, NULL, 'credit', ?, ?, ? WHERE changes() = 1",
      )
      .bind(accountId, amount, note, new Date().toISOString()),
    db.prepare('SELECT available, held FROM accounts WHERE id = ?').bind(accountId),
  ]);
  const balance = results[2]?.results[0] as Balance | undefined;
  if (!balance) throw new HttpError('not_found', `no account ${accountId}`);
  return balance;
}

export async function balanceOf(db: D1Database, accountId: string): Promise<Balance> {
  const row = await db
    .prepare('SELECT available, held FROM accounts WHERE id = ?')
    .bind(accountId)
    .first<Balance>();
  if (!row) throw new HttpError('not_found', `no account ${accountId}`);
  return row;
}

/** Ledger lines of an account, newest first, before the line id `before` when given. */
export async function ledgerLines(
  db: D1Database,
  accountId: string,
  limit: number,
  before?: number,
): Promise<LedgerLine[]> {
  const { results } = await db
    .prepare(
      'SELECT id, edit_id, kind, amount, note, created_at FROM ledger WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
    )
    .bind(accountId, before ?? Number.MAX_SAFE_INTEGER, limit)
    .all<LedgerLine>();
  return results;
}
