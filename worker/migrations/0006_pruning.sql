-- The scheduled prune (worker/scheduled.ts) deletes by age; these keep it from scanning whole tables.
CREATE INDEX events_received_at ON events (received_at);
CREATE INDEX crm_idempotency_created_at ON crm_idempotency (created_at);
