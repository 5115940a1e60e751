-- Indexes for two reads that otherwise walk a corp's whole table. D1 keeps no table statistics, so
-- SQLite cannot tell a narrow condition from a broad one and takes the index with the most columns
-- the query pins.
-- The lost-customers page: `follow_user_deleted` touchpoints in a time range, newest first
-- (worker/notify/service.ts `lostCustomers`); it read every touchpoint of the corp.
CREATE INDEX touchpoints_kind ON touchpoints (corp_id, kind, at DESC);
-- The per-member sending limits: messages attempted in the last hour (worker/notify/outbox.ts
-- `due`, run by every sending hop); it read every message the app kept (30 days).
CREATE INDEX app_messages_attempted ON app_messages (corp_id, agent_id, attempted_at);
