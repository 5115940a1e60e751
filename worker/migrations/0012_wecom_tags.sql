-- WeCom corp tags beside the CRM (docs/tags.md).

-- The corp tag ids (type 1 and 3) on each member's relationship, as WeCom last reported them
-- (profile reads, edit events, the sidebar's own marking, reconciliation); NULL until then.
-- A mapped group's CRM field is computed from these.
ALTER TABLE contact_follows ADD COLUMN tag_ids TEXT;

-- A tag group an admin keeps equal with a CRM custom field: the field holds the group's tag names.
CREATE TABLE tag_mappings (
  corp_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  group_name TEXT NOT NULL,
  field TEXT NOT NULL,
  mapped_by TEXT NOT NULL,
  mapped_at INTEGER NOT NULL,
  PRIMARY KEY (corp_id, group_id),
  UNIQUE (corp_id, field)
);

-- CRM writes that must follow a change WeCom already made, kept with the reason they failed and
-- retried (hourly, and by an admin) until they apply. One row per customer field: the latest
-- value wins.
CREATE TABLE crm_pending_writes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  corp_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (corp_id, customer_id, field)
);
