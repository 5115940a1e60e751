/**
 * @module
 * Tag groups an admin keeps equal with CRM custom fields (docs/tags.md). WeCom is the truth for a
 * mapped group: the field holds the names of the group's tags on every active relationship with
 * the contact, and is written after each change WeCom made (the sidebar's marking, edit events,
 * reconciliation). A CRM write that fails is kept in `crm_pending_writes` with its reason and
 * retried until it applies, so WeCom's side is never half-followed silently.
 */
import type { Crm } from '../crm/port.ts';
import { log } from '../log.ts';
import type { ContactStore } from '../contacts/store.ts';
import type { CrmSync, PendingCrmWrite, TagMapping } from '../wire.ts';
import type { Library, TagLibrary } from './library.ts';

/** How the names of several tags of one group are written into one field. */
export const FIELD_SEPARATOR = ', ';

export function createTagMappings(db: D1Database) {
  return {
    async list(corpId: string): Promise<TagMapping[]> {
      const { results } = await db
        .prepare('SELECT group_id, group_name, field FROM tag_mappings WHERE corp_id = ?1 ORDER BY group_name')
        .bind(corpId)
        .all<{ group_id: string; group_name: string; field: string }>();
      return results.map((row) => ({ groupId: row.group_id, groupName: row.group_name, field: row.field }));
    },

    /** Replaces every mapping of the corp at once. */
    async replace(corpId: string, mappings: readonly TagMapping[], actor: string, now: number): Promise<void> {
      await db.batch([
        db.prepare('DELETE FROM tag_mappings WHERE corp_id = ?1').bind(corpId),
        ...mappings.map((m) =>
          db
            .prepare('INSERT INTO tag_mappings (corp_id, group_id, group_name, field, mapped_by, mapped_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)')
            .bind(corpId, m.groupId, m.groupName, m.field, actor, now),
        ),
      ]);
    },
  };
}

export type TagMappings = ReturnType<typeof createTagMappings>;

interface PendingRow {
  id: number;
  customer_id: string;
  field: string;
  value: string;
  reason: string;
  attempts: number;
  created_at: number;
  updated_at: number;
}

export function createPendingWrites(db: D1Database) {
  return {
    async list(corpId: string): Promise<PendingCrmWrite[]> {
      const { results } = await db.prepare('SELECT * FROM crm_pending_writes WHERE corp_id = ?1 ORDER BY id').bind(corpId).all<PendingRow>();
      return results.map((row) => ({
        id: row.id,
        customerId: row.customer_id,
        field: row.field,
        value: row.value,
        reason: row.reason,
        attempts: row.attempts,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      }));
    },

    /** The latest value wins; the attempts count on. */
    async record(corpId: string, customerId: string, values: Readonly<Record<string, string>>, reason: string, now: number): Promise<void> {
      await db.batch(
        Object.entries(values).map(([field, value]) =>
          db
            .prepare(
              `INSERT INTO crm_pending_writes (corp_id, customer_id, field, value, reason, attempts, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)
               ON CONFLICT (corp_id, customer_id, field) DO UPDATE SET value = ?4, reason = ?5, attempts = attempts + 1, updated_at = ?6`,
            )
            .bind(corpId, customerId, field, value, reason, now),
        ),
      );
    },

    async clear(corpId: string, customerId: string, fields: readonly string[]): Promise<void> {
      if (fields.length === 0) return;
      await db
        .prepare('DELETE FROM crm_pending_writes WHERE corp_id = ?1 AND customer_id = ?2 AND field IN (SELECT value FROM json_each(?3))')
        .bind(corpId, customerId, JSON.stringify(fields))
        .run();
    },
  };
}

export type PendingWrites = ReturnType<typeof createPendingWrites>;

/**
 * The value of each mapped field from the tag ids on the contact's active relationships: the
 * names of the group's tags that any of them carries, in the library's order, joined. A group
 * deleted from the library maps to nothing (its field is left as it is).
 */
export function mappedValues(library: Library, mappings: readonly TagMapping[], tagIds: ReadonlySet<string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const mapping of mappings) {
    const group = library.groups.find((g) => g.groupId === mapping.groupId);
    if (!group) continue;
    values[mapping.field] = group.tags.filter((t) => tagIds.has(t.id)).map((t) => t.name).join(FIELD_SEPARATOR);
  }
  return values;
}

export interface SyncDeps {
  corpId: string;
  crm: Crm;
  store: ContactStore;
  mappings: TagMappings;
  pending: PendingWrites;
  library: TagLibrary;
  now?: () => number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** FNV-1a, so two different writes on the same version never share an idempotency key. */
function fingerprint(value: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}

export function createMappedSync(deps: SyncDeps) {
  const now = deps.now ?? Date.now;
  const { corpId, crm, pending } = deps;

  /**
   * Sets the customer's custom fields to `values` ('' removes a field). A version conflict reads
   * again once; any failure keeps the values with the reason for the retry, and is reported, not thrown.
   */
  async function write(customerId: string, values: Record<string, string>, actor: string): Promise<CrmSync> {
    const fields = Object.keys(values);
    if (fields.length === 0) return { status: 'none', fields: [] };
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const customer = await crm.get(corpId, customerId);
        if (!customer) {
          await pending.clear(corpId, customerId, fields);
          return { status: 'none', fields: [] };
        }
        const next = { ...customer.customFields };
        const changed = fields.filter((field) => (customer.customFields[field] ?? '') !== values[field]);
        for (const field of changed) {
          if (values[field] === '') delete next[field];
          else next[field] = values[field] ?? '';
        }
        if (changed.length === 0) {
          await pending.clear(corpId, customerId, fields);
          return { status: 'applied', fields: [] };
        }
        const key = `tags-sync:${customerId}:${customer.version}:${fingerprint(JSON.stringify(next))}`;
        const result = await crm.update(customerId, customer.version, { customFields: next }, { corpId, actor, idempotencyKey: key });
        if (result.ok) {
          await pending.clear(corpId, customerId, fields);
          return { status: 'applied', fields: changed };
        }
        if (result.reason === 'not_found') return { status: 'none', fields: [] };
      }
      throw new Error('the customer changed twice while its mapped fields were written');
    } catch (error) {
      const reason = describe(error);
      log('warn', 'tags.crm_write_pending', { corpId, fields: fields.join(','), message: reason });
      await pending.record(corpId, customerId, values, reason, now());
      return { status: 'pending', fields, reason };
    }
  }

  return {
    write,

    /** Makes the bound customer's mapped fields equal to the tags WeCom shows on the contact. */
    async syncContact(externalUserId: string, actor: string): Promise<CrmSync> {
      return (await this.syncContacts([externalUserId], actor))[0] ?? { status: 'none', fields: [] };
    },

    /** Whether any tag group is mapped: without mappings there is nothing to keep equal. */
    async active(): Promise<boolean> {
      return (await deps.mappings.list(corpId)).length > 0;
    },

    /** The same for several contacts, reading the mappings and the library once (reconciliation's pages). */
    async syncContacts(externalUserIds: readonly string[], actor: string): Promise<CrmSync[]> {
      const none: CrmSync = { status: 'none', fields: [] };
      const mappings = await deps.mappings.list(corpId);
      if (mappings.length === 0) return externalUserIds.map(() => none);
      const bindings = await deps.store.bindings(corpId, externalUserIds);
      if (bindings.length === 0) return externalUserIds.map(() => none);
      const library = await deps.library.get();
      const results: CrmSync[] = [];
      for (const externalUserId of externalUserIds) {
        const binding = bindings.find((b) => b.externalUserId === externalUserId);
        if (!binding) {
          results.push(none);
          continue;
        }
        const follows = (await deps.store.follows(corpId, externalUserId)).filter((f) => f.state === 'active');
        const tagIds = new Set(follows.flatMap((f) => f.tagIds ?? []));
        results.push(await write(binding.customerId, mappedValues(library, mappings, tagIds), actor));
      }
      return results;
    },

    /** Every pending write, once more; answers how many customers are now written and how many still wait. */
    async retryPending(actor: string): Promise<{ applied: number; pending: number }> {
      const byCustomer = new Map<string, Record<string, string>>();
      for (const row of await pending.list(corpId)) byCustomer.set(row.customerId, { ...byCustomer.get(row.customerId), [row.field]: row.value });
      let applied = 0;
      let waiting = 0;
      for (const [customerId, values] of byCustomer) {
        const result = await write(customerId, values, actor);
        if (result.status === 'pending') waiting += 1;
        else applied += 1;
      }
      return { applied, pending: waiting };
    },
  };
}

export type MappedSync = ReturnType<typeof createMappedSync>;
