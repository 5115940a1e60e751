/**
 * @module
 * The app-message outbox in D1 (`app_messages`, docs/storage.md): one row per message to one
 * member. Writers enqueue with a source key, so an event applied twice or two overlapping runs
 * queue one message. A sender claims a row with one conditional UPDATE before it calls WeCom: the
 * row must still be claimable (pending and due, or a lease that ran out) and the member must still
 * have room under WeCom's per-member limits, counted here from our own attempts (docs/wecom.md
 * §7.2: WeCom drops what goes over, without an error). D1 runs statements one at a time, so two
 * senders never both win a row, nor both take a member's last slot.
 */
import { NOTIFICATION_KINDS, type NotificationKind } from '../wire.ts';
import type { Textcard } from './textcard.ts';

export const MESSAGE_KINDS = NOTIFICATION_KINDS;
export type MessageKind = NotificationKind;

/** WeCom's per app, per member limits (docs/wecom.md §7.2). */
export const PER_MEMBER_MINUTE = 30;
export const PER_MEMBER_HOUR = 1_000;

export type MessageStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'muted';

/** What the timeline learns once a message is sent (deliver.ts). */
export interface MessageFacts {
  /** A reminder's note, as the member wrote it. */
  note?: string;
  /** The touchpoint (by source key) whose `detail.members` gains the recipient: the lost-customer event's. */
  touchpoint?: string;
}

export interface NewMessage {
  kind: MessageKind;
  sourceKey: string;
  touser: string;
  customerId: string | null;
  externalUserId: string | null;
  textcard: Textcard;
  facts?: MessageFacts;
}

export interface OutboxMessage extends Required<Omit<NewMessage, 'facts'>> {
  id: number;
  facts: MessageFacts;
  status: MessageStatus;
  attempts: number;
  unsure: boolean;
  nextAt: number;
  leaseUntil: number | null;
  firstAttemptAt: number | null;
  attemptedAt: number | null;
  msgid: string | null;
  errcode: number | null;
  reason: string | null;
  createdAt: number;
  finishedAt: number | null;
}

interface Row {
  id: number;
  kind: MessageKind;
  source_key: string;
  touser: string;
  customer_id: string | null;
  external_userid: string | null;
  textcard: string;
  facts: string;
  status: MessageStatus;
  attempts: number;
  unsure: number;
  next_at: number;
  lease_until: number | null;
  first_attempt_at: number | null;
  attempted_at: number | null;
  msgid: string | null;
  errcode: number | null;
  reason: string | null;
  created_at: number;
  finished_at: number | null;
}

const toMessage = (row: Row): OutboxMessage => ({
  id: row.id,
  kind: row.kind,
  sourceKey: row.source_key,
  touser: row.touser,
  customerId: row.customer_id,
  externalUserId: row.external_userid,
  textcard: JSON.parse(row.textcard) as Textcard,
  facts: JSON.parse(row.facts) as MessageFacts,
  status: row.status,
  attempts: row.attempts,
  unsure: row.unsure === 1,
  nextAt: row.next_at,
  leaseUntil: row.lease_until,
  firstAttemptAt: row.first_attempt_at,
  attemptedAt: row.attempted_at,
  msgid: row.msgid,
  errcode: row.errcode,
  reason: row.reason,
  createdAt: row.created_at,
  finishedAt: row.finished_at,
});

/**
 * Finished messages (sent, failed, muted) are kept 30 days: long past any replay of what queued them
 * (callbacks are accepted within 5 minutes, events are kept 7 days) and past the hour the per-member
 * accounting looks back. Pending and claimed rows are never pruned.
 */
export const APP_MESSAGE_RETENTION_MS = 30 * 86_400_000;

export async function pruneAppMessages(db: D1Database, before: number, batch: number, maxBatches: number): Promise<number> {
  let deleted = 0;
  for (let round = 0; round < maxBatches; round++) {
    const { meta } = await db
      .prepare("DELETE FROM app_messages WHERE id IN (SELECT id FROM app_messages WHERE status IN ('sent', 'failed', 'muted') AND finished_at < ?1 LIMIT ?2)")
      .bind(before, batch)
      .run();
    deleted += meta.changes;
    if (meta.changes < batch) break;
  }
  return deleted;
}

export function createOutbox(db: D1Database, app: { corpId: string; agentId: string }) {
  const { corpId, agentId } = app;

  return {
    /** Queues a message (or records it muted); the id of the new row, or undefined when the source key was queued before. */
    async enqueue(message: NewMessage, now: number, muted = false): Promise<number | undefined> {
      const row = await db
        .prepare(
          `INSERT INTO app_messages (corp_id, agent_id, kind, source_key, touser, customer_id, external_userid, textcard, facts, status, next_at, created_at, finished_at, reason)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)
           ON CONFLICT (corp_id, agent_id, source_key) DO NOTHING RETURNING id`,
        )
        .bind(
          corpId,
          agentId,
          message.kind,
          message.sourceKey,
          message.touser,
          message.customerId,
          message.externalUserId,
          JSON.stringify(message.textcard),
          JSON.stringify(message.facts ?? {}),
          muted ? 'muted' : 'pending',
          now,
          muted ? now : null,
          muted ? 'muted' : null,
        )
        .first<{ id: number }>();
      return row?.id;
    },

    async get(id: number): Promise<OutboxMessage | undefined> {
      const row = await db.prepare('SELECT * FROM app_messages WHERE id = ?1 AND corp_id = ?2 AND agent_id = ?3').bind(id, corpId, agentId).first<Row>();
      return row ? toMessage(row) : undefined;
    },

    /**
     * Rows a sender may try now: pending and due, or claimed by a sender whose lease ran out (it died
     * mid-send), of members still under both limits. A member at the limit is left out here rather
     * than skipped at the claim, so no sender reads (or hands on) work it may not do yet.
     */
    async due(now: number, limit: number): Promise<OutboxMessage[]> {
      // The unary + leaves the grouping to a sort, so only the last hour is read (app_messages_attempted,
      // migration 0017); and two halves, each through app_messages_due: as one OR, SQLite read every
      // message the app kept.
      const { results } = await db
        .prepare(
          `WITH limited AS (
             SELECT touser FROM app_messages WHERE corp_id = ?1 AND agent_id = ?2 AND attempted_at > ?3 - 3600000
             GROUP BY +touser HAVING COUNT(*) >= ?6 OR SUM(attempted_at > ?3 - 60000) >= ?5
           )
           SELECT * FROM app_messages WHERE corp_id = ?1 AND agent_id = ?2 AND status = 'pending' AND next_at <= ?3
             AND touser NOT IN (SELECT touser FROM limited)
           UNION ALL
           SELECT * FROM app_messages WHERE corp_id = ?1 AND agent_id = ?2 AND status = 'sending' AND lease_until <= ?3
             AND touser NOT IN (SELECT touser FROM limited)
           ORDER BY next_at, id LIMIT ?4`,
        )
        .bind(corpId, agentId, now, limit, PER_MEMBER_MINUTE, PER_MEMBER_HOUR)
        .all<Row>();
      return results.map(toMessage);
    },

    /**
     * Takes `message` for one send attempt until `leaseUntil`: only if nobody took it since it was
     * read (same status and attempts) and its member is under both limits. False otherwise; a
     * member at the limit keeps the row pending for a later run.
     */
    async claim(message: OutboxMessage, now: number, leaseUntil: number): Promise<boolean> {
      const result = await db
        .prepare(
          `UPDATE app_messages SET status = 'sending', attempts = attempts + 1, lease_until = ?5, attempted_at = ?4,
             first_attempt_at = COALESCE(first_attempt_at, ?4)
           WHERE id = ?3 AND corp_id = ?1 AND agent_id = ?2 AND attempts = ?6
             AND ((status = 'pending' AND next_at <= ?4) OR (status = 'sending' AND lease_until <= ?4))
             AND (SELECT COUNT(*) FROM app_messages m WHERE m.corp_id = ?1 AND m.agent_id = ?2 AND m.touser = ?7 AND m.attempted_at > ?4 - 60000) < ?8
             AND (SELECT COUNT(*) FROM app_messages m WHERE m.corp_id = ?1 AND m.agent_id = ?2 AND m.touser = ?7 AND m.attempted_at > ?4 - 3600000) < ?9`,
        )
        .bind(corpId, agentId, message.id, now, leaseUntil, message.attempts, message.touser, PER_MEMBER_MINUTE, PER_MEMBER_HOUR)
        .run();
      return result.meta.changes > 0;
    },

    async markSent(id: number, msgid: string, now: number): Promise<void> {
      await db
        .prepare("UPDATE app_messages SET status = 'sent', msgid = ?4, unsure = 0, lease_until = NULL, finished_at = ?5, reason = NULL, errcode = NULL WHERE id = ?3 AND corp_id = ?1 AND agent_id = ?2")
        .bind(corpId, agentId, id, msgid, now)
        .run();
    },

    /** Final: never tried again. */
    async markFailed(id: number, reason: string, errcode: number | null, now: number): Promise<void> {
      await db
        .prepare("UPDATE app_messages SET status = 'failed', reason = ?4, errcode = ?5, lease_until = NULL, finished_at = ?6 WHERE id = ?3 AND corp_id = ?1 AND agent_id = ?2")
        .bind(corpId, agentId, id, reason, errcode, now)
        .run();
    },

    /** Back to pending, not before `nextAt`; `unsure` when WeCom may have delivered it all the same. */
    async markRetry(id: number, reason: string, errcode: number | null, nextAt: number, unsure: boolean): Promise<void> {
      await db
        .prepare("UPDATE app_messages SET status = 'pending', reason = ?4, errcode = ?5, next_at = ?6, unsure = ?7, lease_until = NULL WHERE id = ?3 AND corp_id = ?1 AND agent_id = ?2")
        .bind(corpId, agentId, id, reason, errcode, nextAt, unsure ? 1 : 0)
        .run();
    },

    /** Failed messages, newest first: the diagnostics page's "app messages" section. */
    async recentFailures(limit: number): Promise<OutboxMessage[]> {
      const { results } = await db
        .prepare("SELECT * FROM app_messages WHERE corp_id = ?1 AND agent_id = ?2 AND status = 'failed' ORDER BY finished_at DESC, id DESC LIMIT ?3")
        .bind(corpId, agentId, limit)
        .all<Row>();
      return results.map(toMessage);
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
