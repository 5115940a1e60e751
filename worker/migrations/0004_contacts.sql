-- Which CRM customer a WeCom external contact is, in both CRM modes.
CREATE TABLE contact_bindings (
  corp_id TEXT NOT NULL,
  external_userid TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  bound_by TEXT NOT NULL,
  bound_at INTEGER NOT NULL,
  unionid TEXT,
  PRIMARY KEY (corp_id, external_userid)
);
CREATE INDEX contact_bindings_customer ON contact_bindings (corp_id, customer_id);

-- Who in the company follows each contact, as WeCom reported it (profile reads, events, reconciliation).
-- Ended relationships stay, so the history is kept and authorization can tell "no longer yours".
CREATE TABLE contact_follows (
  corp_id TEXT NOT NULL,
  external_userid TEXT NOT NULL,
  userid TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'ended')),
  added_at INTEGER,
  ended_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, external_userid, userid)
);
CREATE INDEX contact_follows_member ON contact_follows (corp_id, userid, state);

-- Touchpoints between the company and a contact; `source_key` makes every writer idempotent.
CREATE TABLE touchpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  external_userid TEXT,
  customer_id TEXT,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor_userid TEXT,
  summary TEXT NOT NULL DEFAULT '',
  source_key TEXT NOT NULL,
  UNIQUE (corp_id, source_key)
);
CREATE INDEX touchpoints_contact ON touchpoints (corp_id, external_userid, at DESC);
CREATE INDEX touchpoints_customer ON touchpoints (corp_id, customer_id, at DESC);
