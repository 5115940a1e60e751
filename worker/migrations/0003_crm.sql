-- The built-in CRM (CRM=builtin, worker/crm/builtin.ts). With CRM=http these tables stay empty:
-- the company's own CRM keeps customers, notes and history instead.
CREATE TABLE crm_customers (
  corp_id TEXT NOT NULL,
  -- 'cus_' + 32 hex digits: opaque, so ids from an http CRM and this one look alike to callers.
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  company TEXT NOT NULL DEFAULT '',
  stage TEXT NOT NULL DEFAULT 'lead' CHECK (stage IN ('lead', 'qualified', 'proposal', 'won', 'lost')),
  owner_userid TEXT,
  -- JSON array of the mobiles as entered; crm_customer_mobiles holds their normalised digits for lookups.
  mobiles TEXT NOT NULL DEFAULT '[]',
  unionid TEXT,
  -- JSON array of strings
  tags TEXT NOT NULL DEFAULT '[]',
  -- JSON object of string values
  custom_fields TEXT NOT NULL DEFAULT '{}',
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, id)
);
CREATE INDEX crm_customers_unionid ON crm_customers (corp_id, unionid);
CREATE INDEX crm_customers_owner ON crm_customers (corp_id, owner_userid);
CREATE INDEX crm_customers_recent ON crm_customers (corp_id, updated_at DESC);

-- Mobiles as digits only without the +86/86 prefix, so '+86 138-0013-8000' finds '13800138000'.
-- Rewritten together with the customer row, in the same batch.
CREATE TABLE crm_customer_mobiles (
  corp_id TEXT NOT NULL,
  mobile TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  PRIMARY KEY (corp_id, mobile, customer_id)
);
CREATE INDEX crm_customer_mobiles_customer ON crm_customer_mobiles (corp_id, customer_id);

CREATE TABLE crm_notes (
  corp_id TEXT NOT NULL,
  id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  body TEXT NOT NULL,
  author_userid TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, id)
);
CREATE INDEX crm_notes_customer ON crm_notes (corp_id, customer_id, created_at DESC);

-- What happened to a customer inside the CRM. `seq` orders items written in the same millisecond.
CREATE TABLE crm_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('customer_created', 'customer_edited', 'note')),
  at INTEGER NOT NULL,
  actor_userid TEXT,
  summary TEXT NOT NULL,
  UNIQUE (corp_id, id)
);
CREATE INDEX crm_history_customer ON crm_history (corp_id, customer_id, at DESC, seq DESC);

-- One row per applied write: a retry with the same key answers with `result_id` instead of writing
-- again. `request_hash` (SHA-256 of the request) refuses a key reused for a different request;
-- `request_id` is the applying call's nonce, which the batch's other statements check so the row
-- and the write it guards commit together or not at all.
CREATE TABLE crm_idempotency (
  corp_id TEXT NOT NULL,
  key TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'note')),
  request_hash TEXT NOT NULL,
  request_id TEXT NOT NULL,
  result_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, key)
);
