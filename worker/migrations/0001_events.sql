-- Verified WeCom callback events. One row per distinct event (dedupe_key is unique per corp/agent);
-- WeCom's retries of the same event bump `duplicates` instead of producing a second row.
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  dedupe_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  change_type TEXT,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'applied', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  received_at INTEGER NOT NULL,
  enqueued_at INTEGER,
  applied_at INTEGER,
  UNIQUE (corp_id, agent_id, dedupe_key)
);
CREATE INDEX events_recent ON events (corp_id, agent_id, id DESC);
