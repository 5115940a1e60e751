-- Follow-up reminders and the app messages (WeCom message/send) this product sends members:
-- reminders, lost-customer and new-customer alerts (worker/notify/, docs/storage.md).

-- One pending follow-up per customer, in either CRM mode (the company CRM keeps customers, this
-- product keeps when to follow them up). Deleted when its reminder is queued, or by a person.
CREATE TABLE follow_ups (
  corp_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  set_by TEXT NOT NULL,
  set_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, customer_id)
);
CREATE INDEX follow_ups_due ON follow_ups (corp_id, due_at);

-- The outbox: one row per message to one member. `source_key` (unique per corp and app) makes
-- every writer idempotent; `status` moves pending → sending (claimed, with a lease) → sent | failed,
-- or straight to muted. `attempted_at` is the last send attempt: the per-member accounting
-- (30 a minute, 1,000 an hour) counts rows by it.
CREATE TABLE app_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  source_key TEXT NOT NULL,
  touser TEXT NOT NULL,
  customer_id TEXT,
  external_userid TEXT,
  -- The textcard exactly as sent: a resend must be byte-identical for WeCom's duplicate check.
  textcard TEXT NOT NULL,
  -- Facts for the timeline once sent (JSON): the note of a reminder, the touchpoint to add the member to.
  facts TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  -- 1 while the last attempt's outcome is unknown (a timeout): WeCom may have delivered it.
  unsure INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  lease_until INTEGER,
  first_attempt_at INTEGER,
  attempted_at INTEGER,
  msgid TEXT,
  errcode INTEGER,
  reason TEXT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  UNIQUE (corp_id, agent_id, source_key)
);
CREATE INDEX app_messages_due ON app_messages (corp_id, agent_id, status, next_at);
CREATE INDEX app_messages_member ON app_messages (corp_id, agent_id, touser, attempted_at);
CREATE INDEX app_messages_failed ON app_messages (corp_id, agent_id, status, finished_at);

-- A member's muted kinds of message (reminder, lost_customer, new_customer); absent = on.
CREATE TABLE notification_mutes (
  corp_id TEXT NOT NULL,
  userid TEXT NOT NULL,
  kind TEXT NOT NULL,
  muted_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, userid, kind)
);
