/**
 * @module
 * Bindings, follow relationships and touchpoints in D1. They live here in both CRM modes:
 * the company CRM keeps customers, this product keeps how WeCom contacts map onto them.
 */
import type { RecordedDetail } from '../crm/port.ts';
import type { Binding } from '../wire.ts';

export type { Binding };

export interface Follow {
  externalUserId: string;
  userid: string;
  state: 'active' | 'ended';
  addedAt: number | null;
  endedAt: number | null;
}

export type TouchpointKind =
  | 'contact_added'
  | 'contact_edited'
  | 'contact_deleted'
  | 'follow_user_deleted'
  | 'bound'
  | 'unbound'
  | 'tags_changed'
  | 'remark_changed'
  | 'reminder_sent';

export interface Touchpoint {
  id: number;
  externalUserId: string | null;
  customerId: string | null;
  kind: TouchpointKind;
  at: number;
  actorUserid: string | null;
  detail: RecordedDetail;
}

export interface NewTouchpoint {
  externalUserId: string | null;
  customerId: string | null;
  kind: TouchpointKind;
  at: number;
  actorUserid: string | null;
  detail: RecordedDetail;
  /** Unique per corp: writing the same touchpoint twice (a replayed event) keeps one. */
  sourceKey: string;
}

interface BindingRow {
  external_userid: string;
  customer_id: string;
  bound_by: string;
  bound_at: number;
  unionid: string | null;
}

interface TouchpointRow {
  id: number;
  external_userid: string | null;
  customer_id: string | null;
  kind: TouchpointKind;
  at: number;
  actor_userid: string | null;
  detail: string;
}

const toTouchpoint = (row: TouchpointRow): Touchpoint => ({
  id: row.id,
  externalUserId: row.external_userid,
  customerId: row.customer_id,
  kind: row.kind,
  at: row.at,
  actorUserid: row.actor_userid,
  detail: JSON.parse(row.detail) as RecordedDetail,
});

const toBinding = (row: BindingRow): Binding => ({
  externalUserId: row.external_userid,
  customerId: row.customer_id,
  boundBy: row.bound_by,
  boundAt: row.bound_at,
  unionid: row.unionid,
});

export function createContactStore(db: D1Database) {
  /** Runs `upsert` and returns the relationship's state before it, in one round trip. */
  async function setFollow(corpId: string, externalUserId: string, userid: string, upsert: D1PreparedStatement): Promise<string | undefined> {
    const [before] = await db.batch<{ state: string }>([
      db.prepare('SELECT state FROM contact_follows WHERE corp_id = ?1 AND external_userid = ?2 AND userid = ?3').bind(corpId, externalUserId, userid),
      upsert,
    ]);
    return before?.results[0]?.state;
  }

  return {
    async binding(corpId: string, externalUserId: string): Promise<Binding | undefined> {
      const row = await db
        .prepare('SELECT * FROM contact_bindings WHERE corp_id = ?1 AND external_userid = ?2')
        .bind(corpId, externalUserId)
        .first<BindingRow>();
      return row ? toBinding(row) : undefined;
    },

    async bindings(corpId: string, externalUserIds: readonly string[]): Promise<Binding[]> {
      if (externalUserIds.length === 0) return [];
      const { results } = await db
        .prepare('SELECT * FROM contact_bindings WHERE corp_id = ?1 AND external_userid IN (SELECT value FROM json_each(?2))')
        .bind(corpId, JSON.stringify(externalUserIds))
        .all<BindingRow>();
      return results.map(toBinding);
    },

    /** Binds, replacing an earlier binding; returns the previous customer id if there was one. */
    async bind(corpId: string, binding: Binding): Promise<string | undefined> {
      const previous = await db
        .prepare('SELECT customer_id FROM contact_bindings WHERE corp_id = ?1 AND external_userid = ?2')
        .bind(corpId, binding.externalUserId)
        .first<{ customer_id: string }>();
      await db
        .prepare(
          `INSERT INTO contact_bindings (corp_id, external_userid, customer_id, bound_by, bound_at, unionid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
           ON CONFLICT (corp_id, external_userid) DO UPDATE SET customer_id = ?3, bound_by = ?4, bound_at = ?5, unionid = COALESCE(?6, unionid)`,
        )
        .bind(corpId, binding.externalUserId, binding.customerId, binding.boundBy, binding.boundAt, binding.unionid)
        .run();
      return previous?.customer_id;
    },

    /** Binds only when the contact is still unbound (automatic binding must never override a person's choice). */
    async bindIfUnbound(corpId: string, binding: Binding): Promise<boolean> {
      const result = await db
        .prepare(
          `INSERT INTO contact_bindings (corp_id, external_userid, customer_id, bound_by, bound_at, unionid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
           ON CONFLICT (corp_id, external_userid) DO NOTHING`,
        )
        .bind(corpId, binding.externalUserId, binding.customerId, binding.boundBy, binding.boundAt, binding.unionid)
        .run();
      return result.meta.changes > 0;
    },

    async unbind(corpId: string, externalUserId: string): Promise<Binding | undefined> {
      const row = await db
        .prepare('DELETE FROM contact_bindings WHERE corp_id = ?1 AND external_userid = ?2 RETURNING *')
        .bind(corpId, externalUserId)
        .first<BindingRow>();
      return row ? toBinding(row) : undefined;
    },

    async follows(corpId: string, externalUserId: string): Promise<Follow[]> {
      const { results } = await db
        .prepare('SELECT external_userid, userid, state, added_at, ended_at FROM contact_follows WHERE corp_id = ?1 AND external_userid = ?2')
        .bind(corpId, externalUserId)
        .all<{ external_userid: string; userid: string; state: 'active' | 'ended'; added_at: number | null; ended_at: number | null }>();
      return results.map((row) => ({ externalUserId: row.external_userid, userid: row.userid, state: row.state, addedAt: row.added_at, endedAt: row.ended_at }));
    },

    /** Marks a relationship active; returns true when it was not active before. */
    async followActive(corpId: string, externalUserId: string, userid: string, addedAt: number | null, now: number): Promise<boolean> {
      const upsert = db
        .prepare(
          `INSERT INTO contact_follows (corp_id, external_userid, userid, state, added_at, updated_at) VALUES (?1, ?2, ?3, 'active', ?4, ?5)
           ON CONFLICT (corp_id, external_userid, userid) DO UPDATE SET state = 'active', ended_at = NULL,
             added_at = COALESCE(?4, added_at), updated_at = ?5`,
        )
        .bind(corpId, externalUserId, userid, addedAt, now);
      return (await setFollow(corpId, externalUserId, userid, upsert)) !== 'active';
    },

    /** Marks a relationship ended; returns true when it was active (or unknown) before. */
    async followEnded(corpId: string, externalUserId: string, userid: string, endedAt: number, now: number): Promise<boolean> {
      const upsert = db
        .prepare(
          `INSERT INTO contact_follows (corp_id, external_userid, userid, state, ended_at, updated_at) VALUES (?1, ?2, ?3, 'ended', ?4, ?5)
           ON CONFLICT (corp_id, external_userid, userid) DO UPDATE SET state = 'ended', ended_at = COALESCE(ended_at, ?4), updated_at = ?5`,
        )
        .bind(corpId, externalUserId, userid, endedAt, now);
      return (await setFollow(corpId, externalUserId, userid, upsert)) !== 'ended';
    },

    async activeFollowsOfMembers(corpId: string, userids: readonly string[]): Promise<Array<{ externalUserId: string; userid: string }>> {
      if (userids.length === 0) return [];
      const { results } = await db
        .prepare("SELECT external_userid, userid FROM contact_follows WHERE corp_id = ?1 AND state = 'active' AND userid IN (SELECT value FROM json_each(?2))")
        .bind(corpId, JSON.stringify(userids))
        .all<{ external_userid: string; userid: string }>();
      return results.map((row) => ({ externalUserId: row.external_userid, userid: row.userid }));
    },

    /** True when the customer is bound to a contact that one of `userids` actively follows. */
    async customerReachableBy(corpId: string, customerId: string, userids: readonly string[]): Promise<boolean> {
      if (userids.length === 0) return false;
      const row = await db
        .prepare(
          `SELECT 1 AS ok FROM contact_bindings b JOIN contact_follows f ON f.corp_id = b.corp_id AND f.external_userid = b.external_userid
           WHERE b.corp_id = ?1 AND b.customer_id = ?2 AND f.state = 'active' AND f.userid IN (SELECT value FROM json_each(?3)) LIMIT 1`,
        )
        .bind(corpId, customerId, JSON.stringify(userids))
        .first<{ ok: number }>();
      return row !== null;
    },

    async addTouchpoint(corpId: string, touchpoint: NewTouchpoint): Promise<boolean> {
      const result = await db
        .prepare(
          `INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (corp_id, source_key) DO NOTHING`,
        )
        .bind(corpId, touchpoint.externalUserId, touchpoint.customerId, touchpoint.kind, touchpoint.at, touchpoint.actorUserid, JSON.stringify(touchpoint.detail), touchpoint.sourceKey)
        .run();
      return result.meta.changes > 0;
    },

    /** Sets `detail.name` of the touchpoint written under `sourceKey`, when it has none. */
    async nameTouchpoint(corpId: string, sourceKey: string, name: string): Promise<void> {
      await db
        .prepare("UPDATE touchpoints SET detail = json_set(detail, '$.name', ?3) WHERE corp_id = ?1 AND source_key = ?2 AND json_extract(detail, '$.name') IS NULL")
        .bind(corpId, sourceKey, name)
        .run();
    },

    /** Adds `userid` to `detail.members` of the touchpoint written under `sourceKey` (those an alert about it went to), once. */
    async addTouchpointMember(corpId: string, sourceKey: string, userid: string): Promise<void> {
      await db
        .prepare(
          `UPDATE touchpoints SET detail = json_set(detail, '$.members', json_insert(COALESCE(json_extract(detail, '$.members'), json('[]')), '$[#]', ?3))
           WHERE corp_id = ?1 AND source_key = ?2 AND NOT EXISTS (SELECT 1 FROM json_each(touchpoints.detail, '$.members') WHERE value = ?3)`,
        )
        .bind(corpId, sourceKey, userid)
        .run();
    },

    /** Touchpoints of a customer: those recorded against it and those of every contact bound to it. */
    async touchpointsOfCustomer(corpId: string, customerId: string, limit = 200): Promise<Touchpoint[]> {
      const { results } = await db
        .prepare(
          `SELECT id, external_userid, customer_id, kind, at, actor_userid, detail FROM touchpoints
           WHERE corp_id = ?1 AND (customer_id = ?2 OR external_userid IN (SELECT external_userid FROM contact_bindings WHERE corp_id = ?1 AND customer_id = ?2))
           ORDER BY at DESC, id DESC LIMIT ?3`,
        )
        .bind(corpId, customerId, limit)
        .all<TouchpointRow>();
      return results.map(toTouchpoint);
    },
  };
}

export type ContactStore = ReturnType<typeof createContactStore>;
