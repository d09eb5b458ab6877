-- Accounts, API keys, uploads, edits, the credit ledger and rate-limit windows.
-- Credits are integers; see edge/README.md for the price table.

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  -- Spendable credits; a hold moves credits from here to `held`.
  available INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  webhook_secret TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  -- SHA-256 of the whole key; the key itself is shown once and never stored.
  key_hash TEXT NOT NULL UNIQUE,
  -- First characters of the key, for people to tell keys apart.
  prefix TEXT NOT NULL,
  rate_limit_per_minute INTEGER,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  object_key TEXT NOT NULL,
  -- pending: a presigned PUT was handed out; ready: bytes checked (format, size).
  status TEXT NOT NULL CHECK (status IN ('pending', 'ready')),
  content_type TEXT NOT NULL,
  bytes INTEGER,
  width INTEGER,
  height INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX uploads_account ON uploads (account_id);

CREATE TABLE edits (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  idempotency_key TEXT,
  -- SHA-256 of the request body, compared when an Idempotency-Key is reused.
  request_hash TEXT NOT NULL,
  price INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (account_id, idempotency_key)
);
CREATE INDEX edits_account ON edits (account_id, created_at);

-- One line per credit movement. UNIQUE (edit_id, kind) makes a second hold, capture or release
-- of the same edit impossible, whatever retries or duplicate callbacks do.
CREATE TABLE ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  edit_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('credit', 'hold', 'capture', 'release')),
  amount INTEGER NOT NULL CHECK (amount >= 0),
  note TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (edit_id, kind)
);
CREATE INDEX ledger_account ON ledger (account_id, id);

-- Fixed one-minute window per key: one row per key, reset when a new minute starts.
CREATE TABLE rate_windows (
  key_id TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL
);
