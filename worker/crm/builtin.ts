/**
 * @module
 * The built-in CRM (`CRM=builtin`, the default): customers, notes and history in D1
 * (tables `crm_*`, worker/migrations/0003_crm.sql). Every write is one D1 batch, which D1 runs as
 * a transaction: an idempotency row and the write it guards commit together, and an update
 * applies only `WHERE version = ?`, so two members saving the same version cannot both win.
 */
import {
  CrmRejectedError,
  STAGES,
  type Crm,
  type CrmHistoryItem,
  type Customer,
  type CustomerDraft,
  type CustomerPatch,
  type CustomerQuery,
  type Note,
  type RecordedDetail,
  type Stage,
  type UpdateResult,
  type WriteContext,
} from './port.ts';
import { mobileFragment, normaliseMobile } from '../mobile.ts';
import type { FieldChange, FieldValue } from '../wire.ts';

export const DEFAULT_FIND_LIMIT = 20;
export const MAX_FIND_LIMIT = 100;
const MAX_NAME = 200;
const MAX_NOTE = 10_000;
const MAX_LIST = 50;

interface CustomerRow {
  corp_id: string;
  id: string;
  name: string;
  company: string;
  stage: Stage;
  owner_userid: string | null;
  mobiles: string;
  unionid: string | null;
  tags: string;
  custom_fields: string;
  version: number;
  created_at: number;
  updated_at: number;
}

interface NoteRow {
  id: string;
  customer_id: string;
  body: string;
  author_userid: string;
  created_at: number;
}

interface HistoryRow {
  id: string;
  customer_id: string;
  kind: CrmHistoryItem['kind'];
  at: number;
  actor_userid: string | null;
  detail: string;
}

interface IdempotencyRow {
  operation: 'create' | 'update' | 'note';
  request_hash: string;
  request_id: string;
  result_id: string;
}

/** Makes user text match itself under LIKE ... ESCAPE '\': `50%_off` must not match everything. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Trigram indexes hold 3-character windows: shorter text has nothing to look up (counted in code points). */
export function indexable(text: string): boolean {
  return [...text].length >= 3;
}

/** An FTS5 phrase matching `text` literally: inside double quotes only a double quote is special. */
export function ftsPhrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/**
 * From this many customers holding a text on, `find` walks customers newest first instead of
 * reading every match from an index (crm_customer_grams, or the trigram tables): with m of N
 * customers matching, the walk reads about limit × N / m rows, the lookup m (and sorts them).
 * Measured at 100,000 customers the two cost the same near 800 matches for a limit of 20 and 1,800
 * for 100 (bench data, node:sqlite).
 */
export const WALK_FROM_MATCHES = 1_000;

/**
 * The statement for text of 1-2 characters, which has no trigram (migration 0015). `filter` holds
 * the other conditions on `c`, each as ` AND …`. Binds: corp, text, corp, text, corp, the filter's
 * parameters, corp, the filter's parameters again, limit.
 * Exactly one of the two halves reads rows, chosen by how many customers of the corp hold the text
 * (counted up to WALK_FROM_MATCHES): the other's corp is NULL, which no index entry equals, so
 * its loop ends before it starts. The count as a plain WHERE term would not do this: SQLite
 * computes it once but tests it on every row its loop visits, and the loop still visits them all.
 * - Fewer: the customers are read by rowid from their grams. CROSS JOIN keeps SQLite from driving
 *   the join with crm_customers_recent (which saves the sort but reads every customer).
 * - More: customers are walked newest first (crm_customers_recent), as all 1-2 character text was
 *   before 0015, until `limit` match: about limit × customers / matches rows, at most a fiftieth
 *   of the corp at the default limit when the matches are spread over time, more only when they
 *   are concentrated among the oldest customers.
 */
export function shortTextSearch(filter: string): string {
  const from = WALK_FROM_MATCHES;
  return `WITH matches (n) AS (SELECT count(*) FROM (SELECT 1 FROM crm_customer_grams WHERE corp_id = ? AND gram = lower(?) LIMIT ${from}))
    SELECT c.* FROM crm_customer_grams g CROSS JOIN crm_customers c ON c.rowid = g.customer_rowid
    WHERE g.corp_id = (SELECT ? FROM matches WHERE n < ${from}) AND g.gram = lower(?) AND c.corp_id = ?${filter}
    UNION ALL
    SELECT c.* FROM crm_customers c WHERE c.corp_id = (SELECT ? FROM matches WHERE n >= ${from})${filter}
    ORDER BY updated_at DESC, id LIMIT ?`;
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_FIND_LIMIT;
  return Math.min(MAX_FIND_LIMIT, Math.max(1, Math.trunc(limit)));
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** JSON with object keys sorted, so the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function requestHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical(value)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    name: row.name,
    company: row.company,
    stage: row.stage,
    ownerUserid: row.owner_userid,
    mobiles: parseJson<string[]>(row.mobiles, []),
    unionid: row.unionid,
    tags: parseJson<string[]>(row.tags, []),
    customFields: parseJson<Record<string, string>>(row.custom_fields, {}),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toNote(row: NoteRow): Note {
  return { id: row.id, customerId: row.customer_id, body: row.body, authorUserid: row.author_userid, createdAt: row.created_at };
}

function toHistory(row: HistoryRow): CrmHistoryItem {
  return { id: row.id, customerId: row.customer_id, kind: row.kind, at: row.at, actorUserid: row.actor_userid, detail: JSON.parse(row.detail) as RecordedDetail };
}

// ---- input checks: the port's types say what callers mean, these say what D1 will accept ------------

function reject(operation: string, message: string): never {
  throw new CrmRejectedError(400, operation, message);
}

function checkText(operation: string, field: string, value: unknown, max: number, allowEmpty: boolean): string {
  if (typeof value !== 'string') reject(operation, `${field} must be a string`);
  const trimmed = value.trim();
  if (!allowEmpty && trimmed === '') reject(operation, `${field} must not be empty`);
  if (trimmed.length > max) reject(operation, `${field} must be at most ${max} characters`);
  return trimmed;
}

function checkList(operation: string, field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) reject(operation, `${field} must be a list of at most ${MAX_LIST} strings`);
  return value.map((item, i) => checkText(operation, `${field}[${i}]`, item, MAX_NAME, false));
}

function checkFields(operation: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) reject(operation, 'customFields must be an object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_LIST) reject(operation, `customFields must have at most ${MAX_LIST} entries`);
  const fields: Record<string, string> = {};
  for (const [key, item] of entries) {
    if (key.trim() === '' || key.length > MAX_NAME) reject(operation, 'customFields keys must be 1-200 characters');
    if (typeof item !== 'string' || item.length > MAX_NOTE) reject(operation, `customFields.${key} must be a string of at most ${MAX_NOTE} characters`);
    fields[key] = item;
  }
  return fields;
}

function checkStage(operation: string, value: unknown): Stage {
  if (!(STAGES as readonly unknown[]).includes(value)) reject(operation, `stage must be one of ${STAGES.join(', ')}`);
  return value as Stage;
}

function checkOptionalId(operation: string, field: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = checkText(operation, field, value, MAX_NAME, true);
  return text === '' ? null : text;
}

function checkDraft(draft: CustomerDraft): Omit<Customer, 'id' | 'version' | 'createdAt' | 'updatedAt'> {
  const op = 'create customer';
  return {
    name: checkText(op, 'name', draft.name, MAX_NAME, false),
    company: draft.company === undefined ? '' : checkText(op, 'company', draft.company, MAX_NAME, true),
    stage: draft.stage === undefined ? 'lead' : checkStage(op, draft.stage),
    ownerUserid: checkOptionalId(op, 'ownerUserid', draft.ownerUserid),
    mobiles: draft.mobiles === undefined ? [] : checkList(op, 'mobiles', draft.mobiles),
    unionid: checkOptionalId(op, 'unionid', draft.unionid),
    tags: draft.tags === undefined ? [] : checkList(op, 'tags', draft.tags),
    customFields: draft.customFields === undefined ? {} : checkFields(op, draft.customFields),
  };
}

const PATCH_FIELDS = ['name', 'company', 'stage', 'ownerUserid', 'mobiles', 'unionid', 'tags', 'customFields'] as const;

function checkPatch(patch: CustomerPatch): CustomerPatch {
  const op = 'update customer';
  const clean: CustomerPatch = {};
  if (patch.name !== undefined) clean.name = checkText(op, 'name', patch.name, MAX_NAME, false);
  if (patch.company !== undefined) clean.company = checkText(op, 'company', patch.company, MAX_NAME, true);
  if (patch.stage !== undefined) clean.stage = checkStage(op, patch.stage);
  if (patch.ownerUserid !== undefined) clean.ownerUserid = checkOptionalId(op, 'ownerUserid', patch.ownerUserid);
  if (patch.mobiles !== undefined) clean.mobiles = checkList(op, 'mobiles', patch.mobiles);
  if (patch.unionid !== undefined) clean.unionid = checkOptionalId(op, 'unionid', patch.unionid);
  if (patch.tags !== undefined) clean.tags = checkList(op, 'tags', patch.tags);
  if (patch.customFields !== undefined) clean.customFields = checkFields(op, patch.customFields);
  if (Object.keys(clean).length === 0) reject(op, `the patch changes nothing: give at least one of ${PATCH_FIELDS.join(', ')}`);
  return clean;
}

/**
 * What a patch changes, as the timeline shows it: each field from its value in `before` (the record
 * at the version the patch applies to) to the new one, custom fields one by one; fields the patch
 * sets to what they were are left out. Without `before` only the new values are known.
 */
function editDetail(patch: CustomerPatch, before: Customer | undefined): RecordedDetail {
  const same = (a: FieldValue | undefined, b: FieldValue) => JSON.stringify(a) === JSON.stringify(b);
  const change = (field: string, from: FieldValue | undefined, to: FieldValue): FieldChange[] =>
    before === undefined ? [{ field, to }] : same(from, to) ? [] : [{ field, from: from ?? null, to }];
  const changes = PATCH_FIELDS.flatMap((field): FieldChange[] => {
    if (field === 'customFields') {
      if (patch.customFields === undefined) return [];
      const after = patch.customFields;
      const old = before?.customFields ?? {};
      const keys = [...new Set([...Object.keys(old), ...Object.keys(after)])];
      return keys.flatMap((key) => (before === undefined && !(key in after) ? [] : change(`customFields.${key}`, old[key], after[key] ?? null)));
    }
    const value = patch[field];
    return value === undefined ? [] : change(field, before?.[field], value);
  });
  return { changes };
}

/** A note's first 140 characters: the note itself keeps all of it. */
function noteDetail(body: string): RecordedDetail {
  return { text: body.length > 140 ? `${body.slice(0, 139)}…` : body };
}

function normalisedMobiles(mobiles: readonly string[]): string {
  return JSON.stringify([...new Set(mobiles.map(normaliseMobile).filter((m) => m !== ''))]);
}

function reused(operation: string, key: string): CrmRejectedError {
  return new CrmRejectedError(409, operation, `Idempotency key "${key}" was already used for a different request`);
}

const COLUMNS: Record<(typeof PATCH_FIELDS)[number], string> = {
  name: 'name',
  company: 'company',
  stage: 'stage',
  ownerUserid: 'owner_userid',
  mobiles: 'mobiles',
  unionid: 'unionid',
  tags: 'tags',
  customFields: 'custom_fields',
};

function columnValue(patch: CustomerPatch, field: (typeof PATCH_FIELDS)[number]): string | null {
  const value = patch[field];
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * How long an idempotency key is remembered. Keys guard retries of one write (a browser resending a
 * save, a queue redelivering an event), which come within minutes; after 30 days a key is only
 * storage. An old auto-create key going means a contact unbound by hand and added again much later
 * gets a new customer rather than its old one.
 */
export const CRM_IDEMPOTENCY_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** Deletes idempotency rows created before `before` (epoch ms), `batch` at a time; returns how many went. */
export async function pruneIdempotencyKeys(db: D1Database, before: number, batch: number, maxBatches: number): Promise<number> {
  let deleted = 0;
  for (let round = 0; round < maxBatches; round++) {
    const { meta } = await db
      .prepare('DELETE FROM crm_idempotency WHERE rowid IN (SELECT rowid FROM crm_idempotency WHERE created_at < ?1 LIMIT ?2)')
      .bind(before, batch)
      .run();
    deleted += meta.changes;
    if (meta.changes < batch) break;
  }
  return deleted;
}

export function createBuiltinCrm(db: D1Database, now: () => number = Date.now): Crm {
  // Statements after the idempotency insert run only if that insert was this call's (?1 corp, ?2 key, ?3 nonce).
  const GUARD = 'EXISTS (SELECT 1 FROM crm_idempotency WHERE corp_id = ?1 AND key = ?2 AND request_id = ?3)';
  const READ_KEY = 'SELECT operation, request_hash, request_id, result_id FROM crm_idempotency WHERE corp_id = ?1 AND key = ?2';

  async function getRow(corpId: string, id: string): Promise<Customer | undefined> {
    const row = await db.prepare('SELECT * FROM crm_customers WHERE corp_id = ? AND id = ?').bind(corpId, id).first<CustomerRow>();
    return row ? toCustomer(row) : undefined;
  }

  /**
   * The rowids of customers whose name or company holds `text` (3+ characters), or one of whose
   * mobiles holds `fragment`, from the trigram indexes: at most WALK_FROM_MATCHES of them. The
   * indexes span every corp of the database, so another corp's matches count toward the cap too.
   */
  async function trigramCandidates(text: string, fragment: string | undefined): Promise<number[]> {
    const sources = ['SELECT rowid AS id FROM crm_customer_search WHERE crm_customer_search MATCH ?'];
    const params = [ftsPhrase(text)];
    if (fragment) {
      sources.push(
        `SELECT k.rowid FROM crm_mobile_search s JOIN crm_customer_mobiles m ON m.rowid = s.rowid
         JOIN crm_customers k ON k.corp_id = m.corp_id AND k.id = m.customer_id WHERE crm_mobile_search MATCH ?`,
      );
      params.push(ftsPhrase(fragment));
    }
    const { results } = await db
      .prepare(`${sources.join(' UNION ')} LIMIT ${WALK_FROM_MATCHES}`)
      .bind(...params)
      .all<{ id: number }>();
    return results.map((row) => row.id);
  }

  async function requireCustomer(operation: string, corpId: string, customerId: string): Promise<void> {
    const row = await db.prepare('SELECT 1 AS found FROM crm_customers WHERE corp_id = ? AND id = ?').bind(corpId, customerId).first();
    if (!row) throw new CrmRejectedError(404, operation, `No customer ${customerId} in this corp`);
  }

  return {
    async find(corpId, query: CustomerQuery) {
      // Conditions on the customer `c` besides its corp, the same whichever way the rows are found.
      // D1 keeps no statistics, so with a LIMIT SQLite walks crm_customers_recent and tests each
      // customer, however few match: a selective condition must drive the query itself. `driven`
      // says one does (unionid, mobile: their indexes; text: its candidates, read first).
      const where: string[] = [];
      const params: unknown[] = [];
      let driven = false;
      let candidates: number[] | undefined;
      const text = query.text?.trim() ?? '';
      if (text !== '') {
        const pattern = `%${escapeLike(text)}%`;
        const alternatives = ["c.name LIKE ? ESCAPE '\\'", "c.company LIKE ? ESCAPE '\\'"];
        params.push(pattern, pattern);
        const fragment = mobileFragment(text);
        if (fragment) {
          alternatives.push("EXISTS (SELECT 1 FROM crm_customer_mobiles m WHERE m.corp_id = c.corp_id AND m.customer_id = c.id AND m.mobile LIKE ? ESCAPE '\\')");
          params.push(`%${escapeLike(fragment)}%`);
        }
        where.push(`(${alternatives.join(' OR ')})`);
        // The LIKEs above decide; the trigram indexes (migration 0009) and the grams of 1-2
        // characters (0015, in shortTextSearch) only pick the rows they look at.
        // A fragment is at least 4 digits, so text with one always has 3 characters or more.
        if (indexable(text)) {
          candidates = await trigramCandidates(text, fragment);
          // Text many customers hold: walking newest first finds `limit` of them sooner.
          if (candidates.length >= WALK_FROM_MATCHES) candidates = undefined;
        }
      }
      const unionid = query.unionid?.trim() ?? '';
      if (unionid !== '') {
        where.push('c.unionid = ?');
        params.push(unionid);
        driven = true;
      }
      if (query.mobile !== undefined && query.mobile.trim() !== '') {
        const mobile = normaliseMobile(query.mobile);
        if (mobile === '') return [];
        where.push('c.id IN (SELECT customer_id FROM crm_customer_mobiles WHERE corp_id = ? AND mobile = ?)');
        params.push(corpId, mobile);
        driven = true;
      }
      if (query.ownerUserids !== undefined) {
        // An empty allow-list is "nobody's", never "no filter": it comes from a scope that owns nothing.
        if (query.ownerUserids.length === 0) return [];
        // json_each keeps one bound parameter however many members a manager's scope holds (D1 allows 100).
        // A unary + keeps SQLite from reaching the rows through the owner index when another condition drives.
        where.push(`${driven ? '+' : ''}c.owner_userid IN (SELECT value FROM json_each(?))`);
        params.push(JSON.stringify(query.ownerUserids));
      }
      const filter = where.map((condition) => ` AND ${condition}`).join('');
      const limit = clampLimit(query.limit);
      let statement: D1PreparedStatement;
      if (candidates) {
        // CROSS JOIN: the candidates first, each customer by rowid, then sorted.
        statement = db
          .prepare(`SELECT c.* FROM json_each(?) j CROSS JOIN crm_customers c ON c.rowid = j.value WHERE c.corp_id = ?${filter} ORDER BY c.updated_at DESC, c.id LIMIT ?`)
          .bind(JSON.stringify(candidates), corpId, ...params, limit);
      } else if (text !== '' && !indexable(text)) {
        statement = db.prepare(shortTextSearch(filter)).bind(corpId, text, corpId, text, corpId, ...params, corpId, ...params, limit);
      } else {
        // The unary + keeps the ORDER BY from choosing crm_customers_recent over the driving index.
        statement = db.prepare(`SELECT c.* FROM crm_customers c WHERE c.corp_id = ?${filter} ORDER BY ${driven ? '+' : ''}c.updated_at DESC, c.id LIMIT ?`).bind(corpId, ...params, limit);
      }
      const { results } = await statement.all<CustomerRow>();
      return results.map(toCustomer);
    },

    get(corpId, id) {
      return getRow(corpId, id);
    },

    async getMany(corpId, ids) {
      const unique = [...new Set(ids)];
      if (unique.length === 0) return [];
      const { results } = await db
        .prepare('SELECT * FROM crm_customers WHERE corp_id = ? AND id IN (SELECT value FROM json_each(?))')
        .bind(corpId, JSON.stringify(unique))
        .all<CustomerRow>();
      const byId = new Map(results.map((row) => [row.id, toCustomer(row)]));
      return unique.flatMap((id) => byId.get(id) ?? []);
    },

    async create(draft, context: WriteContext) {
      const op = 'create customer';
      const fields = checkDraft(draft);
      const at = now();
      const id = `cus_${randomHex(16)}`;
      const nonce = crypto.randomUUID();
      const hash = await requestHash({ op: 'create', fields });
      const { corpId, idempotencyKey: key } = context;
      const results = await db.batch([
        db
          .prepare(
            `INSERT INTO crm_idempotency (corp_id, key, operation, request_hash, request_id, result_id, created_at)
             VALUES (?1, ?2, 'create', ?4, ?3, ?5, ?6) ON CONFLICT (corp_id, key) DO NOTHING`,
          )
          .bind(corpId, key, nonce, hash, id, at),
        db
          .prepare(
            `INSERT INTO crm_customers (corp_id, id, name, company, stage, owner_userid, mobiles, unionid, tags, custom_fields, version, created_at, updated_at)
             SELECT ?1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1, ?13, ?13 WHERE ${GUARD}`,
          )
          .bind(
            corpId,
            key,
            nonce,
            id,
            fields.name,
            fields.company,
            fields.stage,
            fields.ownerUserid,
            JSON.stringify(fields.mobiles),
            fields.unionid,
            JSON.stringify(fields.tags),
            JSON.stringify(fields.customFields),
            at,
          ),
        db
          .prepare(`INSERT INTO crm_customer_mobiles (corp_id, mobile, customer_id) SELECT ?1, value, ?4 FROM json_each(?5) WHERE ${GUARD}`)
          .bind(corpId, key, nonce, id, normalisedMobiles(fields.mobiles)),
        db
          .prepare(
            `INSERT INTO crm_history (corp_id, id, customer_id, kind, at, actor_userid, detail)
             SELECT ?1, ?4, ?5, 'customer_created', ?6, ?7, ?8 WHERE ${GUARD}`,
          )
          .bind(corpId, key, nonce, `his_${randomHex(12)}`, id, at, context.actor, JSON.stringify({ name: fields.name } satisfies RecordedDetail)),
        db.prepare(READ_KEY).bind(corpId, key),
      ]);
      const record = results[4]?.results[0] as IdempotencyRow | undefined;
      if (!record) throw new Error('crm_idempotency row missing after insert');
      if (record.request_id === nonce) return { id, ...fields, version: 1, createdAt: at, updatedAt: at };
      if (record.operation !== 'create' || record.request_hash !== hash) throw reused(op, key);
      const first = await getRow(corpId, record.result_id);
      if (!first) throw new Error(`customer ${record.result_id} of idempotency key is missing`);
      return first;
    },

    async update(id, expectedVersion, patch, context): Promise<UpdateResult> {
      const op = 'update customer';
      const clean = checkPatch(patch);
      const at = now();
      const nonce = crypto.randomUUID();
      const hash = await requestHash({ op: 'update', id, expectedVersion, patch: clean });
      const { corpId, idempotencyKey: key } = context;
      const fields = PATCH_FIELDS.filter((field) => clean[field] !== undefined);
      // Every write raises the version, so the record read at the expected version is the one the
      // update replaces; at another version the update does not apply and neither does its history.
      const read = await getRow(corpId, id);
      const before = read?.version === expectedVersion ? read : undefined;
      const sets = fields.map((field, i) => `${COLUMNS[field]} = ?${i + 7}`);
      const statements = [
        // Recorded only if the version still matches, in the same transaction as the guarded UPDATE.
        db
          .prepare(
            `INSERT INTO crm_idempotency (corp_id, key, operation, request_hash, request_id, result_id, created_at)
             SELECT ?1, ?2, 'update', ?4, ?3, ?5, ?6
             WHERE EXISTS (SELECT 1 FROM crm_customers WHERE corp_id = ?1 AND id = ?5 AND version = ?7)
             ON CONFLICT (corp_id, key) DO NOTHING`,
          )
          .bind(corpId, key, nonce, hash, id, at, expectedVersion),
        db
          .prepare(
            `UPDATE crm_customers SET ${sets.join(', ')}, version = version + 1, updated_at = ?6
             WHERE corp_id = ?1 AND id = ?5 AND version = ?${fields.length + 7} AND ${GUARD} RETURNING *`,
          )
          .bind(corpId, key, nonce, hash, id, at, ...fields.map((field) => columnValue(clean, field)), expectedVersion),
      ];
      if (clean.mobiles !== undefined) {
        statements.push(
          db.prepare(`DELETE FROM crm_customer_mobiles WHERE corp_id = ?1 AND customer_id = ?4 AND ${GUARD}`).bind(corpId, key, nonce, id),
          db
            .prepare(`INSERT INTO crm_customer_mobiles (corp_id, mobile, customer_id) SELECT ?1, value, ?4 FROM json_each(?5) WHERE ${GUARD}`)
            .bind(corpId, key, nonce, id, normalisedMobiles(clean.mobiles)),
        );
      }
      statements.push(
        db
          .prepare(
            `INSERT INTO crm_history (corp_id, id, customer_id, kind, at, actor_userid, detail)
             SELECT ?1, ?4, ?5, 'customer_edited', ?6, ?7, ?8 WHERE ${GUARD}`,
          )
          .bind(corpId, key, nonce, `his_${randomHex(12)}`, id, at, context.actor, JSON.stringify(editDetail(clean, before))),
        db.prepare(READ_KEY).bind(corpId, key),
        db.prepare('SELECT * FROM crm_customers WHERE corp_id = ? AND id = ?').bind(corpId, id),
      );
      const results = await db.batch(statements);
      const updated = results[1]?.results[0] as CustomerRow | undefined;
      const record = results[results.length - 2]?.results[0] as IdempotencyRow | undefined;
      const currentRow = results[results.length - 1]?.results[0] as CustomerRow | undefined;
      if (updated && record?.request_id === nonce) return { ok: true, customer: toCustomer(updated) };
      if (record) {
        // A retry of an update that already applied: the answer is success, not a conflict with itself.
        if (record.operation !== 'update' || record.request_hash !== hash) throw reused(op, key);
        if (currentRow) return { ok: true, customer: toCustomer(currentRow) };
      }
      if (!currentRow) return { ok: false, reason: 'not_found' };
      return { ok: false, reason: 'version_conflict', current: toCustomer(currentRow) };
    },

    async listNotes(corpId, customerId) {
      await requireCustomer('list notes', corpId, customerId);
      const { results } = await db
        .prepare('SELECT * FROM crm_notes WHERE corp_id = ? AND customer_id = ? ORDER BY created_at DESC, rowid DESC')
        .bind(corpId, customerId)
        .all<NoteRow>();
      return results.map(toNote);
    },

    async addNote(customerId, body, context) {
      const op = 'add note';
      const text = checkText(op, 'body', body, MAX_NOTE, false);
      const at = now();
      const id = `note_${randomHex(16)}`;
      const nonce = crypto.randomUUID();
      const hash = await requestHash({ op: 'note', customerId, body: text });
      const { corpId, idempotencyKey: key } = context;
      const results = await db.batch([
        db
          .prepare(
            `INSERT INTO crm_idempotency (corp_id, key, operation, request_hash, request_id, result_id, created_at)
             SELECT ?1, ?2, 'note', ?4, ?3, ?5, ?6
             WHERE EXISTS (SELECT 1 FROM crm_customers WHERE corp_id = ?1 AND id = ?7)
             ON CONFLICT (corp_id, key) DO NOTHING`,
          )
          .bind(corpId, key, nonce, hash, id, at, customerId),
        db
          .prepare(`INSERT INTO crm_notes (corp_id, id, customer_id, body, author_userid, created_at) SELECT ?1, ?4, ?5, ?6, ?7, ?8 WHERE ${GUARD}`)
          .bind(corpId, key, nonce, id, customerId, text, context.actor, at),
        db
          .prepare(
            `INSERT INTO crm_history (corp_id, id, customer_id, kind, at, actor_userid, detail)
             SELECT ?1, ?4, ?5, 'note', ?6, ?7, ?8 WHERE ${GUARD}`,
          )
          .bind(corpId, key, nonce, `his_${randomHex(12)}`, customerId, at, context.actor, JSON.stringify(noteDetail(text))),
        db.prepare(READ_KEY).bind(corpId, key),
      ]);
      const record = results[3]?.results[0] as IdempotencyRow | undefined;
      if (!record) throw new CrmRejectedError(404, op, `No customer ${customerId} in this corp`);
      if (record.request_id === nonce) return { id, customerId, body: text, authorUserid: context.actor, createdAt: at };
      if (record.operation !== 'note' || record.request_hash !== hash) throw reused(op, key);
      const first = await db.prepare('SELECT * FROM crm_notes WHERE corp_id = ? AND id = ?').bind(corpId, record.result_id).first<NoteRow>();
      if (!first) throw new Error(`note ${record.result_id} of idempotency key is missing`);
      return toNote(first);
    },

    async history(corpId, customerId) {
      await requireCustomer('read history', corpId, customerId);
      const { results } = await db
        .prepare('SELECT * FROM crm_history WHERE corp_id = ? AND customer_id = ? ORDER BY at DESC, seq DESC')
        .bind(corpId, customerId)
        .all<HistoryRow>();
      return results.map(toHistory);
    },
  };
}
