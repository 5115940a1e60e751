/**
 * @module
 * Which kinds of app message each member muted (`notification_mutes`); every kind is on until muted.
 */
import { MESSAGE_KINDS, type MessageKind } from './outbox.ts';

export type NotificationSettings = Record<MessageKind, boolean>;

export function createMutes(db: D1Database, corpId: string) {
  return {
    async muted(userid: string, kind: MessageKind): Promise<boolean> {
      const row = await db.prepare('SELECT 1 AS muted FROM notification_mutes WHERE corp_id = ?1 AND userid = ?2 AND kind = ?3').bind(corpId, userid, kind).first();
      return row !== null;
    },

    /** `true` for each kind the member receives. */
    async settings(userid: string): Promise<NotificationSettings> {
      const { results } = await db.prepare('SELECT kind FROM notification_mutes WHERE corp_id = ?1 AND userid = ?2').bind(corpId, userid).all<{ kind: string }>();
      const muted = new Set(results.map((row) => row.kind));
      return Object.fromEntries(MESSAGE_KINDS.map((kind) => [kind, !muted.has(kind)])) as NotificationSettings;
    },

    async update(userid: string, changes: Partial<NotificationSettings>, now: number): Promise<void> {
      const statements = Object.entries(changes).map(([kind, on]) =>
        on
          ? db.prepare('DELETE FROM notification_mutes WHERE corp_id = ?1 AND userid = ?2 AND kind = ?3').bind(corpId, userid, kind)
          : db.prepare('INSERT INTO notification_mutes (corp_id, userid, kind, muted_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING').bind(corpId, userid, kind, now),
      );
      if (statements.length > 0) await db.batch(statements);
    },
  };
}

export type Mutes = ReturnType<typeof createMutes>;
