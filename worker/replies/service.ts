/**
 * @module
 * The quick-reply library in D1 (`quick_replies`, docs/storage.md): the sidebar's list and search,
 * usage counts, and management by admins and managers. Every statement is bounded by the caller's
 * scope (access.ts): a reply outside it answers 404 `reply_not_found` whether or not it exists.
 */
import { AppError } from '../errors.ts';
import { actorOf, type User, type UserRepo } from '../identity/users.ts';
import { memberNames } from '../contacts/view.ts';
import type { ManagedReply, ManagedReplyList, QuickReply, ReplyBody, ReplyDraft, ReplyList, ReplyUse } from '../wire.ts';
import { managesDepartment, replyScopeOf, type ReplyScope } from './access.ts';

export interface RepliesDeps {
  corpId: string;
  db: D1Database;
  users: UserRepo;
  now?: () => number;
}

interface ReplyRow {
  id: number;
  department_id: number | null;
  department_name: string | null;
  group_name: string;
  title: string;
  msgtype: 'text' | 'news';
  content: string;
  link: string;
  link_title: string;
  link_desc: string;
  img_url: string;
  sent_count: number;
  copied_count: number;
  last_used_at: number | null;
  updated_by: string;
  updated_at: number;
}

const SELECT = `SELECT r.*, d.name AS department_name FROM quick_replies r
  LEFT JOIN departments d ON d.corp_id = r.corp_id AND d.id = r.department_id`;

/** Where a reply of these departments (or corp-wide) may be read; ?2 is the JSON list. */
const READABLE = '(r.department_id IS NULL OR r.department_id IN (SELECT value FROM json_each(?2)))';

/** More than a sidebar can browse; a search narrows it. */
const LIST_LIMIT = 500;

function bodyOf(row: ReplyRow): ReplyBody {
  return row.msgtype === 'text'
    ? { msgtype: 'text', text: { content: row.content } }
    : { msgtype: 'news', news: { link: row.link, title: row.link_title, desc: row.link_desc, imgUrl: row.img_url } };
}

function replyOf(row: ReplyRow): QuickReply {
  return {
    id: row.id,
    group: row.group_name,
    title: row.title,
    departmentId: row.department_id,
    departmentName: row.department_id === null ? null : row.department_name || String(row.department_id),
    body: bodyOf(row),
    updatedAt: row.updated_at,
  };
}

function columnsOf(body: ReplyBody): [string, string, string, string, string, string] {
  return body.msgtype === 'text'
    ? ['text', body.text.content, '', '', '', '']
    : ['news', '', body.news.link, body.news.title, body.news.desc, body.news.imgUrl];
}

export function createRepliesService(deps: RepliesDeps) {
  const { corpId, db, users } = deps;
  const now = deps.now ?? Date.now;

  const scopeOf = (user: User): Promise<ReplyScope> => replyScopeOf(user, users, db);

  async function managed(rows: ReplyRow[]): Promise<ManagedReply[]> {
    const names = await memberNames(db, corpId, rows.map((row) => row.updated_by));
    return rows.map((row) => ({
      ...replyOf(row),
      sentCount: row.sent_count,
      copiedCount: row.copied_count,
      lastUsedAt: row.last_used_at,
      updatedBy: { userid: row.updated_by, name: names.get(row.updated_by) ?? row.updated_by },
    }));
  }

  /** The reply if the caller manages it; 404 otherwise, the same as for an id that does not exist. */
  async function manageable(id: number, scope: ReplyScope): Promise<ReplyRow> {
    const row = await db.prepare(`${SELECT} WHERE r.corp_id = ?1 AND r.id = ?2`).bind(corpId, id).first<ReplyRow>();
    if (!row || !managesDepartment(scope, row.department_id)) throw new AppError(404, 'reply_not_found', `No quick reply ${id} among those you manage`);
    return row;
  }

  /** A reply may go only where the caller manages: an id from the client never widens that. */
  function checkTarget(departmentId: number | null, scope: ReplyScope): void {
    if (departmentId === null) {
      if (scope.managesAll) return;
      throw new AppError(403, 'forbidden', 'Only admins add corp-wide replies: choose one of your departments');
    }
    if (scope.manages.includes(departmentId)) return;
    if (scope.managesAll) throw new AppError(400, 'unknown_department', `No department ${departmentId} in this corp`);
    throw new AppError(403, 'forbidden', `You manage the replies of departments ${scope.manages.join(', ') || '(none)'} only`);
  }

  async function one(id: number): Promise<ManagedReply> {
    const row = await db.prepare(`${SELECT} WHERE r.corp_id = ?1 AND r.id = ?2`).bind(corpId, id).first<ReplyRow>();
    if (!row) throw new Error(`quick reply ${id} vanished`);
    const [reply] = await managed([row]);
    if (!reply) throw new Error(`quick reply ${id} vanished`);
    return reply;
  }

  return {
    /** The replies the reader may use, matching `q` (title, group, or any text) when given. */
    async list(user: User, q: string): Promise<ReplyList> {
      const reads = JSON.stringify((await scopeOf(user)).reads);
      // instr, not LIKE: the text is matched as it is, `%` and `_` included; lower() folds ASCII only.
      const matches = `(?3 = '' OR ${['r.title', 'r.group_name', 'r.content', 'r.link_title', 'r.link_desc'].map((column) => `instr(lower(${column}), ?3) > 0`).join(' OR ')})`;
      const [found, groups] = await db.batch<ReplyRow | { group_name: string }>([
        db.prepare(`${SELECT} WHERE r.corp_id = ?1 AND ${READABLE} AND ${matches} ORDER BY r.group_name, r.title, r.id LIMIT ${LIST_LIMIT}`).bind(corpId, reads, q.toLowerCase()),
        db.prepare(`SELECT DISTINCT r.group_name FROM quick_replies r WHERE r.corp_id = ?1 AND ${READABLE} ORDER BY r.group_name`).bind(corpId, reads),
      ]);
      return {
        replies: ((found?.results ?? []) as ReplyRow[]).map(replyOf),
        groups: ((groups?.results ?? []) as Array<{ group_name: string }>).map((row) => row.group_name),
      };
    },

    /** Counts a send or a copy of a reply the reader may use. */
    async recordUse(user: User, id: number, use: ReplyUse): Promise<void> {
      const scope = await scopeOf(user);
      const column = use === 'sent' ? 'sent_count' : 'copied_count';
      const row = await db
        .prepare(`UPDATE quick_replies AS r SET ${column} = ${column} + 1, last_used_at = ?4 WHERE r.corp_id = ?1 AND r.id = ?3 AND ${READABLE} RETURNING id`)
        .bind(corpId, JSON.stringify(scope.reads), id, now())
        .first<{ id: number }>();
      if (!row) throw new AppError(404, 'reply_not_found', `No quick reply ${id} among those you may use`);
    },

    async manageList(user: User): Promise<ManagedReplyList> {
      const scope = await scopeOf(user);
      const { results } = await db
        .prepare(`${SELECT} WHERE r.corp_id = ?1 AND (?3 OR r.department_id IN (SELECT value FROM json_each(?2))) ORDER BY r.group_name, r.title, r.id`)
        .bind(corpId, JSON.stringify(scope.manages), scope.managesAll ? 1 : 0)
        .all<ReplyRow>();
      const { results: departments } = await db
        .prepare(
          `SELECT value AS id, COALESCE((SELECT name FROM departments WHERE corp_id = ?1 AND id = value), '') AS name
           FROM json_each(?2) ORDER BY value`,
        )
        .bind(corpId, JSON.stringify(scope.manages))
        .all<{ id: number; name: string }>();
      return { replies: await managed(results), departments, corpWide: scope.managesAll };
    },

    async create(user: User, draft: ReplyDraft): Promise<ManagedReply> {
      checkTarget(draft.departmentId, await scopeOf(user));
      const actor = actorOf(user);
      const at = now();
      const row = await db
        .prepare(
          `INSERT INTO quick_replies (corp_id, department_id, group_name, title, msgtype, content, link, link_title, link_desc, img_url, created_by, created_at, updated_by, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11, ?12) RETURNING id`,
        )
        .bind(corpId, draft.departmentId, draft.group, draft.title, ...columnsOf(draft.body), actor, at)
        .first<{ id: number }>();
      if (!row) throw new Error('quick reply insert returned nothing');
      return one(row.id);
    },

    async update(user: User, id: number, draft: ReplyDraft): Promise<ManagedReply> {
      const scope = await scopeOf(user);
      await manageable(id, scope);
      checkTarget(draft.departmentId, scope);
      await db
        .prepare(
          `UPDATE quick_replies SET department_id = ?3, group_name = ?4, title = ?5, msgtype = ?6, content = ?7, link = ?8, link_title = ?9, link_desc = ?10, img_url = ?11,
             updated_by = ?12, updated_at = ?13 WHERE corp_id = ?1 AND id = ?2`,
        )
        .bind(corpId, id, draft.departmentId, draft.group, draft.title, ...columnsOf(draft.body), actorOf(user), now())
        .run();
      return one(id);
    },

    async remove(user: User, id: number): Promise<void> {
      await manageable(id, await scopeOf(user));
      await db.prepare('DELETE FROM quick_replies WHERE corp_id = ?1 AND id = ?2').bind(corpId, id).run();
    },
  };
}

export type RepliesService = ReturnType<typeof createRepliesService>;
