/** Upload records in D1: who uploaded what, where the bytes are, and once checked, their format and size. */
import { type ImageInfo, MEDIA_TYPES } from '@dragflow/shared';

export interface UploadRecord {
  readonly id: string;
  readonly account_id: string;
  readonly object_key: string;
  readonly status: 'pending' | 'ready';
  readonly content_type: string;
  readonly bytes: number | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly created_at: string;
}

export async function insertUpload(db: D1Database, record: UploadRecord): Promise<void> {
  await db
    .prepare(
      'INSERT INTO uploads (id, account_id, object_key, status, content_type, bytes, width, height, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .bind(
      record.id,
      record.account_id,
      record.object_key,
      record.status,
      record.content_type,
      record.bytes,
      record.width,
      record.height,
      record.created_at,
    )
    .run();
}

export function findUpload(db: D1Database, accountId: string, id: string): Promise<UploadRecord | null> {
  return db
    .prepare('SELECT * FROM uploads WHERE id = ? AND account_id = ?')
    .bind(id, accountId)
    .first<UploadRecord>();
}

export async function markUploadReady(
  db: D1Database,
  id: string,
  bytes: number,
  info: ImageInfo,
): Promise<void> {
  await db
    .prepare(
      "UPDATE uploads SET status = 'ready', bytes = ?, width = ?, height = ?, content_type = ? WHERE id = ?",
    )
    .bind(bytes, info.width, info.height, MEDIA_TYPES[info.format], id)
    .run();
}
