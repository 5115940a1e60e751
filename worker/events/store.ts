/**
 * @module
 * The D1 event log: every verified callback event, recorded once, with its processing status.
 * The dedupe key is unique per (corp, agent), so WeCom's retries of one event land on one row.
 */
import type { WeComEvent } from '../wecom/events.ts';

/**
 * How long an applied or dead-lettered event stays in the log (and so in the admin's event list).
 * A row is what deduplicates a replay, and a replay is accepted only while its signed timestamp is
 * within the callback window (wecom/freshness.ts) of now: at most 2 × the window after the row was received, allowing
 * for skew either way. A week is far beyond that. Events not yet applied are never pruned.
 */
export const EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export type EventStatus = 'received' | 'applied' | 'failed';

export interface StoredEvent {
  id: number;
  corpId: string;
  agentId: string;
  dedupeKey: string;
  kind: string;
  changeType: string | null;
  event: WeComEvent;
  status: EventStatus;
  attempts: number;
  duplicates: number;
  lastError: string | null;
  receivedAt: number;
  enqueuedAt: number | null;
  appliedAt: number | null;
}

export interface RecordInput {
  corpId: string;
  agentId: string;
  dedupeKey: string;
  kind: string;
  changeType: string | null;
  event: WeComEvent;
  now: number;
}

export interface RecordOutcome {
  id: number;
  /** False when this delivery is a retry of an event already recorded. */
  isNew: boolean;
  /** True once the event has been handed to the queue (or applied). */
  enqueued: boolean;
  /** When the row was first recorded (epoch ms): tells a retry racing its original from one long after it. */
  receivedAt: number;
}

interface EventRow {
  id: number;
  corp_id: string;
  agent_id: string;
  dedupe_key: string;
  kind: string;
  change_type: string | null;
  payload: string;
  status: EventStatus;
  attempts: number;
  duplicates: number;
  last_error: string | null;
  received_at: number;
  enqueued_at: number | null;
  applied_at: number | null;
}

function fromRow(row: EventRow): StoredEvent {
  return {
    id: row.id,
    corpId: row.corp_id,
    agentId: row.agent_id,
    dedupeKey: row.dedupe_key,
    kind: row.kind,
    changeType: row.change_type,
    event: JSON.parse(row.payload) as WeComEvent,
    status: row.status,
    attempts: row.attempts,
    duplicates: row.duplicates,
    lastError: row.last_error,
    receivedAt: row.received_at,
    enqueuedAt: row.enqueued_at,
    appliedAt: row.applied_at,
  };
}

/** Errors are kept short in the log table: enough to act on, never a whole upstream body. */
function clip(text: string): string {
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

export interface EventStore {
  record(input: RecordInput): Promise<RecordOutcome>;
  markEnqueued(id: number, now: number): Promise<void>;
  markEnqueuedMany(ids: readonly number[], now: number): Promise<void>;
  /** Not yet applied and never handed to the queue, recorded before `before` (epoch ms), oldest first. */
  listUnsent(before: number, limit: number): Promise<number[]>;
  get(id: number): Promise<StoredEvent | undefined>;
  markApplied(id: number, attempts: number, now: number): Promise<void>;
  markAttemptFailed(id: number, attempts: number, error: string): Promise<void>;
  markFailed(id: number, error: string, now: number): Promise<void>;
  listRecent(corpId: string, agentId: string, limit: number): Promise<StoredEvent[]>;
  /** Deletes applied and failed events received before `before` (epoch ms), `batch` at a time; returns how many went. */
  pruneSettled(before: number, batch: number, maxBatches: number): Promise<number>;
}

export function createEventStore(db: D1Database): EventStore {
  return {
    async record(input) {
      // One statement: insert, or count the retry on the existing row. `duplicates` tells which happened.
      const row = await db
        .prepare(
          `INSERT INTO events (corp_id, agent_id, dedupe_key, kind, change_type, payload, received_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
           ON CONFLICT (corp_id, agent_id, dedupe_key) DO UPDATE SET duplicates = duplicates + 1
           RETURNING id, duplicates, enqueued_at, received_at`,
        )
        .bind(input.corpId, input.agentId, input.dedupeKey, input.kind, input.changeType, JSON.stringify(input.event), input.now)
        .first<{ id: number; duplicates: number; enqueued_at: number | null; received_at: number }>();
      if (!row) throw new Error('event insert returned no row');
      return { id: row.id, isNew: row.duplicates === 0, enqueued: row.enqueued_at !== null, receivedAt: row.received_at };
    },

    async markEnqueued(id, now) {
      await db.prepare('UPDATE events SET enqueued_at = COALESCE(enqueued_at, ?2) WHERE id = ?1').bind(id, now).run();
    },

    async markEnqueuedMany(ids, now) {
      if (ids.length === 0) return;
      await db
        .prepare('UPDATE events SET enqueued_at = COALESCE(enqueued_at, ?1) WHERE id IN (SELECT value FROM json_each(?2))')
        .bind(now, JSON.stringify(ids))
        .run();
    },

    async listUnsent(before, limit) {
      // `enqueued_at IS NULL` verbatim, so SQLite answers from the partial index events_unsent.
      const { results } = await db
        .prepare("SELECT id FROM events WHERE enqueued_at IS NULL AND received_at < ?1 AND status = 'received' ORDER BY received_at LIMIT ?2")
        .bind(before, limit)
        .all<{ id: number }>();
      return results.map((row) => row.id);
    },

    async get(id) {
      const row = await db.prepare('SELECT * FROM events WHERE id = ?1').bind(id).first<EventRow>();
      return row ? fromRow(row) : undefined;
    },

    async markApplied(id, attempts, now) {
      await db
        // A row the consumer saw was enqueued, even if the route's mark after the 200 was lost; this keeps it out of the sweep.
        .prepare("UPDATE events SET status = 'applied', attempts = ?2, applied_at = ?3, enqueued_at = COALESCE(enqueued_at, ?3), last_error = NULL WHERE id = ?1")
        .bind(id, attempts, now)
        .run();
    },

    async markAttemptFailed(id, attempts, error) {
      await db.prepare('UPDATE events SET attempts = ?2, last_error = ?3 WHERE id = ?1').bind(id, attempts, clip(error)).run();
    },

    async markFailed(id, error, now) {
      await db
        .prepare(
          "UPDATE events SET status = 'failed', last_error = COALESCE(last_error, ?2), enqueued_at = COALESCE(enqueued_at, ?3) WHERE id = ?1 AND status <> 'applied'",
        )
        .bind(id, clip(error), now)
        .run();
    },

    async listRecent(corpId, agentId, limit) {
      const { results } = await db
        .prepare('SELECT * FROM events WHERE corp_id = ?1 AND agent_id = ?2 ORDER BY id DESC LIMIT ?3')
        .bind(corpId, agentId, limit)
        .all<EventRow>();
      return results.map(fromRow);
    },

    async pruneSettled(before, batch, maxBatches) {
      let deleted = 0;
      for (let round = 0; round < maxBatches; round++) {
        const { meta } = await db
          .prepare(
            `DELETE FROM events WHERE id IN (
               SELECT id FROM events WHERE received_at < ?1 AND status IN ('applied', 'failed') LIMIT ?2)`,
          )
          .bind(before, batch)
          .run();
        deleted += meta.changes;
        if (meta.changes < batch) break;
      }
      return deleted;
    },
  };
}
