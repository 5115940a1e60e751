/**
 * @module
 * Follow-up times in D1 (`follow_ups`): one per customer, in both CRM modes (the company CRM keeps
 * customers, this product keeps when to follow them up). Set and cleared by whoever may edit the
 * customer; taken (deleted) by the reminder job once its reminder is queued.
 */
export interface FollowUp {
  customerId: string;
  dueAt: number;
  note: string;
  setBy: string;
  setAt: number;
}

interface Row {
  customer_id: string;
  due_at: number;
  note: string;
  set_by: string;
  set_at: number;
}

const toFollowUp = (row: Row): FollowUp => ({ customerId: row.customer_id, dueAt: row.due_at, note: row.note, setBy: row.set_by, setAt: row.set_at });

export function createFollowUps(db: D1Database, corpId: string) {
  return {
    async get(customerId: string): Promise<FollowUp | undefined> {
      const row = await db.prepare('SELECT * FROM follow_ups WHERE corp_id = ?1 AND customer_id = ?2').bind(corpId, customerId).first<Row>();
      return row ? toFollowUp(row) : undefined;
    },

    async set(followUp: FollowUp): Promise<void> {
      await db
        .prepare(
          `INSERT INTO follow_ups (corp_id, customer_id, due_at, note, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
           ON CONFLICT (corp_id, customer_id) DO UPDATE SET due_at = ?3, note = ?4, set_by = ?5, set_at = ?6`,
        )
        .bind(corpId, followUp.customerId, followUp.dueAt, followUp.note, followUp.setBy, followUp.setAt)
        .run();
    },

    async clear(customerId: string): Promise<void> {
      await db.prepare('DELETE FROM follow_ups WHERE corp_id = ?1 AND customer_id = ?2').bind(corpId, customerId).run();
    },

    async due(now: number, limit: number): Promise<FollowUp[]> {
      const { results } = await db.prepare('SELECT * FROM follow_ups WHERE corp_id = ?1 AND due_at <= ?2 ORDER BY due_at LIMIT ?3').bind(corpId, now, limit).all<Row>();
      return results.map(toFollowUp);
    },

    /** Deletes the follow-up only if it is still the one that fell due: one set meanwhile stays. */
    async take(followUp: FollowUp): Promise<void> {
      await db.prepare('DELETE FROM follow_ups WHERE corp_id = ?1 AND customer_id = ?2 AND due_at = ?3 AND set_at = ?4').bind(corpId, followUp.customerId, followUp.dueAt, followUp.setAt).run();
    },
  };
}

export type FollowUps = ReturnType<typeof createFollowUps>;
