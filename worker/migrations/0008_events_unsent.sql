-- Events recorded but not yet handed to the queue. The callback route sends after its 200, so a
-- row can be left unsent (the isolate died, the queue refused); the sweep (worker/events/dispatch.ts)
-- finds them here without scanning the log. Rows leave the index as soon as they are sent or applied.
CREATE INDEX events_unsent ON events (received_at) WHERE enqueued_at IS NULL;
