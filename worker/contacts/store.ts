/**
 * @module
 * Bindings, follow relationships and touchpoints in D1. They live here in both CRM modes:
 * the company CRM keeps customers, this product keeps how WeCom contacts map onto them.
 */
import type { RecordedDetail } from '../crm/port.ts';
import type { ContactProfile } from './profile.ts';
import type { Binding } from '../wire.ts';

export type { Binding };

export interface Follow {
  externalUserId: string;
  userid: string;
  state: 'active' | 'ended';
  addedAt: number | null;
  endedAt: number | null;
  /** Corp tag ids on this relationship as WeCom last reported them; null when never read. */
  tagIds: string[] | null;
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

/** A relationship WeCom shows: the contact, the member, and when the member added them. */
export interface NewFollow {
  externalUserId: string;
  userid: string;
  addedAt: number | null;
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

  /** The corp tag ids WeCom shows on each relationship, in one statement. */
  /**
   * Records each relationship's corp tag ids as WeCom lists them. `reconciledAt` (a reconciliation's
   * start) also marks them as listed by that run (`unlistedFollows`): the latest start is kept.
   */
  async function followsTags(corpId: string, follows: ReadonlyArray<{ externalUserId: string; userid: string; tagIds: readonly string[] }>, reconciledAt?: number): Promise<void> {
    if (follows.length === 0) return;
    const rows = follows.map((f) => ({ externalUserId: f.externalUserId, userid: f.userid, tagIds: JSON.stringify([...new Set(f.tagIds)].sort()) }));
    await db
      .prepare(
        `UPDATE contact_follows SET tag_ids = page.tag_ids, reconciled_at = MAX(COALESCE(reconciled_at, 0), COALESCE(?3, 0))
         FROM (SELECT json_extract(value, '$.externalUserId') AS external_userid, json_extract(value, '$.userid') AS userid, json_extract(value, '$.tagIds') AS tag_ids FROM json_each(?2)) AS page
         WHERE contact_follows.corp_id = ?1 AND contact_follows.external_userid = page.external_userid AND contact_follows.userid = page.userid`,
      )
      .bind(corpId, JSON.stringify(rows), reconciledAt ?? null)
      .run();
  }

  /** Touchpoints in one statement, each written only if its source key is new; how many were written. */
  async function addTouchpoints(corpId: string, touchpoints: readonly NewTouchpoint[]): Promise<number> {
    if (touchpoints.length === 0) return 0;
    const rows = touchpoints.map((t) => ({ ...t, detail: JSON.stringify(t.detail) }));
    const result = await db
      .prepare(
        `INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key)
         SELECT ?1, json_extract(value, '$.externalUserId'), json_extract(value, '$.customerId'), json_extract(value, '$.kind'), json_extract(value, '$.at'),
           json_extract(value, '$.actorUserid'), json_extract(value, '$.detail'), json_extract(value, '$.sourceKey')
         FROM json_each(?2) WHERE true ON CONFLICT (corp_id, source_key) DO NOTHING`,
      )
      .bind(corpId, JSON.stringify(rows))
      .run();
    return result.meta.changes;
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
        .prepare('SELECT external_userid, userid, state, added_at, ended_at, tag_ids FROM contact_follows WHERE corp_id = ?1 AND external_userid = ?2')
        .bind(corpId, externalUserId)
        .all<{ external_userid: string; userid: string; state: 'active' | 'ended'; added_at: number | null; ended_at: number | null; tag_ids: string | null }>();
      return results.map((row) => ({
        externalUserId: row.external_userid,
        userid: row.userid,
        state: row.state,
        addedAt: row.added_at,
        endedAt: row.ended_at,
        tagIds: row.tag_ids === null ? null : (JSON.parse(row.tag_ids) as string[]),
      }));
    },

    /** Records the corp tag ids WeCom reports on a relationship already recorded. */
    async followTags(corpId: string, externalUserId: string, userid: string, tagIds: readonly string[]): Promise<void> {
      await followsTags(corpId, [{ externalUserId, userid, tagIds }]);
    },

    followsTags,

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

    /**
     * `followActive` for a page of relationships in two round trips, writing only those not active
     * yet; returns those. Reconciliation's steps stay within the D1 queries an invocation may run.
     */
    async followsActive(corpId: string, follows: readonly NewFollow[], now: number): Promise<NewFollow[]> {
      if (follows.length === 0) return [];
      const { results } = await db
        .prepare(
          `SELECT external_userid, userid FROM contact_follows WHERE corp_id = ?1 AND state = 'active'
           AND (external_userid, userid) IN (SELECT json_extract(value, '$.externalUserId'), json_extract(value, '$.userid') FROM json_each(?2))`,
        )
        .bind(corpId, JSON.stringify(follows))
        .all<{ external_userid: string; userid: string }>();
      const active = new Set(results.map((row) => `${row.external_userid}|${row.userid}`));
      const fresh = follows.filter((follow) => !active.has(`${follow.externalUserId}|${follow.userid}`));
      if (fresh.length === 0) return [];
      await db
        .prepare(
          `INSERT INTO contact_follows (corp_id, external_userid, userid, state, added_at, updated_at)
           SELECT ?1, json_extract(value, '$.externalUserId'), json_extract(value, '$.userid'), 'active', json_extract(value, '$.addedAt'), ?3 FROM json_each(?2) WHERE true
           ON CONFLICT (corp_id, external_userid, userid) DO UPDATE SET state = 'active', ended_at = NULL,
             added_at = COALESCE(excluded.added_at, added_at), updated_at = excluded.updated_at`,
        )
        .bind(corpId, JSON.stringify(fresh), now)
        .run();
      return fresh;
    },

    /** `followEnded` for many relationships in one round trip; returns those that were active. */
    async followsEnded(corpId: string, follows: ReadonlyArray<{ externalUserId: string; userid: string }>, endedAt: number, now: number): Promise<Array<{ externalUserId: string; userid: string }>> {
      if (follows.length === 0) return [];
      const { results } = await db
        .prepare(
          `UPDATE contact_follows SET state = 'ended', ended_at = COALESCE(ended_at, ?3), updated_at = ?4
           WHERE corp_id = ?1 AND state = 'active'
           AND (external_userid, userid) IN (SELECT json_extract(value, '$.externalUserId'), json_extract(value, '$.userid') FROM json_each(?2))
           RETURNING external_userid, userid`,
        )
        .bind(corpId, JSON.stringify(follows), endedAt, now)
        .all<{ external_userid: string; userid: string }>();
      return results.map((row) => ({ externalUserId: row.external_userid, userid: row.userid }));
    },

    /**
     * The active relationships of `userids` that the reconciliation started at `runStartedAt` did
     * not list (`followsTags`), leaving out those written since it started (a contact added while
     * the run was past that member's pages is not one WeCom stopped showing).
     */
    async unlistedFollows(corpId: string, userids: readonly string[], runStartedAt: number): Promise<Array<{ externalUserId: string; userid: string }>> {
      if (userids.length === 0) return [];
      const { results } = await db
        .prepare(
          `SELECT external_userid, userid FROM contact_follows WHERE corp_id = ?1 AND state = 'active' AND userid IN (SELECT value FROM json_each(?2))
           AND COALESCE(reconciled_at, 0) < ?3 AND updated_at <= ?3`,
        )
        .bind(corpId, JSON.stringify(userids), runStartedAt)
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

    /** Writes the touchpoint unless one with its source key exists; true when it was written. */
    async addTouchpoint(corpId: string, touchpoint: NewTouchpoint): Promise<boolean> {
      return (await addTouchpoints(corpId, [touchpoint])) > 0;
    },

    addTouchpoints,

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

    /**
     * Touchpoints of a customer: those recorded against it and those of every contact bound to it.
     * Two halves, each through its own index: as one `customer_id = ? OR external_userid IN (…)`
     * condition SQLite read every touchpoint of the corp to test it.
     */
    async touchpointsOfCustomer(corpId: string, customerId: string, limit = 200): Promise<Touchpoint[]> {
      const columns = 'id, external_userid, customer_id, kind, at, actor_userid, detail';
      const { results } = await db
        .prepare(
          `SELECT ${columns} FROM touchpoints WHERE corp_id = ?1 AND customer_id = ?2
           UNION
           SELECT ${columns} FROM touchpoints WHERE corp_id = ?1 AND external_userid IN (SELECT external_userid FROM contact_bindings WHERE corp_id = ?1 AND customer_id = ?2)
           ORDER BY at DESC, id DESC LIMIT ?3`,
        )
        .bind(corpId, customerId, limit)
        .all<TouchpointRow>();
      return results.map(toTouchpoint);
    },
  };
}

export type ContactStore = ReturnType<typeof createContactStore>;

/** What a profile read from WeCom teaches: each follower's relationship is active, with these corp tags. */
export async function recordFollows(store: ContactStore, corpId: string, profile: ContactProfile, now: number): Promise<void> {
  const externalUserId = profile.contact.externalUserId;
  for (const follow of profile.followUsers) {
    await store.followActive(corpId, externalUserId, follow.userid, follow.createdAt * 1000, now);
    await store.followTags(corpId, externalUserId, follow.userid, follow.tags.flatMap((tag) => (tag.id ? [tag.id] : [])));
  }
}
