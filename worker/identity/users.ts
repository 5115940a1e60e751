/**
 * @module
 * Users, their departments and roles in D1: the product's own view of who may do what.
 * Members are matched by WeCom userid first, then by mobile (an admin may have created the user
 * before their first login); a member who leaves is deactivated, never deleted.
 */
import type { WeComUser } from '../wecom/replies.ts';
import { ROLES, type Role, type User, type UserDepartment } from '../wire.ts';

export { ROLES, type Role, type User, type UserDepartment };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** What WeCom tells us about a member (login, org sync, change_contact events). */
export interface MemberFacts {
  userid: string;
  name?: string;
  mobile?: string;
  /** WeCom department ids; `undefined` means "not reported", which leaves memberships alone. */
  departments?: number[];
  leaderIn?: number[];
  /** WeCom's status: 1 active, 2 disabled, 4 not activated, 5 exited. */
  wecomStatus?: number;
}

/**
 * What a WeCom member record (`user/get`, an entry of `user/list`) tells us. A field WeCom leaves
 * out stays out of the facts: it means "not reported" (the app may not be allowed to see it),
 * never "empty", so upsertMember keeps what it knew.
 */
export function memberFacts(member: WeComUser): MemberFacts {
  const facts: MemberFacts = { userid: member.userid };
  if (member.name) facts.name = member.name;
  if (member.mobile) facts.mobile = member.mobile;
  if (member.department) {
    facts.departments = member.department;
    // is_leader_in_dept runs parallel to department: 1 where the member leads that department.
    if (member.is_leader_in_dept) facts.leaderIn = member.department.filter((_, i) => member.is_leader_in_dept?.[i] === 1);
  }
  if (member.status !== undefined) facts.wecomStatus = member.status;
  return facts;
}

export interface ProvisionPolicy {
  defaultRole: Role;
  adminUserIds: readonly string[];
  /** Whether WeCom listing the member active makes an inactive user active again (org sync, events), or leaves them as they are (login). */
  reactivate: boolean;
  now: number;
}

interface UserRow {
  id: number;
  corp_id: string;
  wecom_userid: string | null;
  name: string;
  mobile: string | null;
  status: 'active' | 'inactive';
  last_login_at: number | null;
  session_generation: number;
  roles: string | null;
  departments: string | null;
}

const SELECT_USER = `
  SELECT u.id, u.corp_id, u.wecom_userid, u.name, u.mobile, u.status, u.last_login_at, u.session_generation,
    (SELECT json_group_array(role) FROM user_roles r WHERE r.user_id = u.id) AS roles,
    (SELECT json_group_array(json_object('id', ud.department_id, 'name', COALESCE(d.name, ''), 'isLeader', ud.is_leader))
       FROM user_departments ud LEFT JOIN departments d ON d.corp_id = ud.corp_id AND d.id = ud.department_id
       WHERE ud.user_id = u.id) AS departments
  FROM users u`;

function fromRow(row: UserRow): User {
  const roles = (JSON.parse(row.roles ?? '[]') as unknown[]).filter(isRole).sort((a, b) => ROLES.indexOf(a) - ROLES.indexOf(b));
  const departments = (JSON.parse(row.departments ?? '[]') as Array<{ id: number; name: string; isLeader: number }>).map((d) => ({
    id: d.id,
    name: d.name,
    isLeader: d.isLeader === 1,
  }));
  return {
    id: row.id,
    corpId: row.corp_id,
    wecomUserId: row.wecom_userid,
    name: row.name,
    mobile: row.mobile,
    status: row.status,
    roles,
    departments,
    lastLoginAt: row.last_login_at,
    sessionGeneration: row.session_generation,
  };
}

/**
 * Who did something, as touchpoints, bindings and CRM history record it: the member's WeCom userid,
 * or `user:<id>` for a user no WeCom member is linked to yet (added by an admin before first login).
 */
export function actorOf(user: Pick<User, 'id' | 'wecomUserId'>): string {
  return user.wecomUserId ?? `user:${user.id}`;
}

/** 1 active, 4 not yet activated (still a member); 2 disabled and 5 exited are not. */
export function isActiveWeComStatus(wecomStatus: number | undefined): boolean {
  return wecomStatus === undefined || wecomStatus === 1 || wecomStatus === 4;
}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

/** What `facts` would change on `existing`: the same judgement `upsertMember` makes. */
export function memberChanges(existing: User, facts: MemberFacts): { changed: boolean; departmentsChanged: boolean; leaderChanged: boolean } {
  const status = isActiveWeComStatus(facts.wecomStatus) ? 'active' : 'inactive';
  const departmentsChanged =
    facts.departments !== undefined && JSON.stringify([...facts.departments].sort()) !== JSON.stringify(existing.departments.map((d) => d.id).sort());
  const leaderChanged =
    facts.leaderIn !== undefined &&
    JSON.stringify([...facts.leaderIn].sort()) !== JSON.stringify(existing.departments.filter((d) => d.isLeader).map((d) => d.id).sort());
  const changed =
    existing.wecomUserId !== facts.userid ||
    (facts.name ?? existing.name) !== existing.name ||
    (facts.mobile ?? existing.mobile) !== existing.mobile ||
    status !== existing.status ||
    departmentsChanged ||
    leaderChanged;
  return { changed, departmentsChanged, leaderChanged };
}

export interface UserRepo {
  get(corpId: string, id: number): Promise<User | undefined>;
  findByWecomId(corpId: string, wecomUserId: string): Promise<User | undefined>;
  /** Users by WeCom userid, in one query. */
  findManyByWecomId(corpId: string, wecomUserIds: readonly string[]): Promise<Map<string, User>>;
  list(corpId: string): Promise<User[]>;
  /** Create or update from WeCom's facts; new users get the default role, ADMIN_USERIDS admin. */
  upsertMember(corpId: string, facts: MemberFacts, policy: ProvisionPolicy): Promise<{ user: User; outcome: UpsertOutcome }>;
  recordLogin(userId: number, now: number): Promise<void>;
  /** WeCom lets an admin change a generated userid once (`NewUserID`). */
  renameWecomId(corpId: string, from: string, to: string, now: number): Promise<void>;
  /** Ends every session of the user; false when there is no such user. */
  endSessions(corpId: string, userId: number): Promise<boolean>;
  /** Marks a member inactive and ends their sessions; returns the user when there was an active one. */
  deactivate(corpId: string, wecomUserId: string, now: number): Promise<User | undefined>;
  setRoles(corpId: string, userId: number, roles: readonly Role[], grantedBy: string, now: number): Promise<void>;
  upsertDepartment(corpId: string, department: { id: number; name?: string; parentId?: number; order?: number }, now: number): Promise<void>;
  deleteDepartment(corpId: string, id: number): Promise<void>;
  /** The given departments and every department below them. */
  departmentSubtree(corpId: string, ids: readonly number[]): Promise<number[]>;
}

export function createUserRepo(db: D1Database): UserRepo {
  async function one(where: string, ...values: unknown[]): Promise<User | undefined> {
    const row = await db.prepare(`${SELECT_USER} WHERE ${where}`).bind(...values).first<UserRow>();
    return row ? fromRow(row) : undefined;
  }

  async function setDepartments(corpId: string, userId: number, departments: number[], leaderIn: number[]): Promise<D1PreparedStatement[]> {
    return [
      db.prepare('DELETE FROM user_departments WHERE user_id = ?1').bind(userId),
      ...departments.map((departmentId) =>
        db
          .prepare('INSERT INTO user_departments (user_id, corp_id, department_id, is_leader) VALUES (?1, ?2, ?3, ?4)')
          .bind(userId, corpId, departmentId, leaderIn.includes(departmentId) ? 1 : 0),
      ),
    ];
  }

  const repo: UserRepo = {
    get: (corpId, id) => one('u.corp_id = ?1 AND u.id = ?2', corpId, id),

    findByWecomId: (corpId, wecomUserId) => one('u.corp_id = ?1 AND u.wecom_userid = ?2', corpId, wecomUserId),

    async findManyByWecomId(corpId, wecomUserIds) {
      if (wecomUserIds.length === 0) return new Map();
      const { results } = await db
        .prepare(`${SELECT_USER} WHERE u.corp_id = ?1 AND u.wecom_userid IN (SELECT value FROM json_each(?2))`)
        .bind(corpId, JSON.stringify(wecomUserIds))
        .all<UserRow>();
      return new Map(results.map(fromRow).map((user) => [user.wecomUserId ?? '', user]));
    },

    async list(corpId) {
      const { results } = await db.prepare(`${SELECT_USER} WHERE u.corp_id = ?1 ORDER BY u.status, u.name, u.id`).bind(corpId).all<UserRow>();
      return results.map(fromRow);
    },

    async upsertMember(corpId, facts, policy) {
      const status = isActiveWeComStatus(facts.wecomStatus) ? 'active' : 'inactive';
      let existing = await repo.findByWecomId(corpId, facts.userid);
      if (!existing && facts.mobile) {
        // An admin-created user waiting for this member's first login.
        existing = await one('u.corp_id = ?1 AND u.mobile = ?2 AND u.wecom_userid IS NULL', corpId, facts.mobile);
      }
      if (existing?.status === 'inactive' && !policy.reactivate) return { user: existing, outcome: 'unchanged' };
      if (!existing) {
        const inserted = await db
          .prepare(
            `INSERT INTO users (corp_id, wecom_userid, name, mobile, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (corp_id, wecom_userid) DO NOTHING RETURNING id`,
          )
          .bind(corpId, facts.userid, facts.name ?? facts.userid, facts.mobile ?? null, status, policy.now)
          .first<{ id: number }>();
        if (!inserted) {
          // Another request provisioned the same member a moment ago.
          const raced = await repo.findByWecomId(corpId, facts.userid);
          if (!raced) throw new Error(`could not provision ${facts.userid}`);
          return { user: raced, outcome: 'unchanged' };
        }
        const role: Role = policy.adminUserIds.includes(facts.userid) ? 'admin' : policy.defaultRole;
        await db.batch([
          db.prepare('INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)').bind(inserted.id, role, 'provisioning', policy.now),
          ...(await setDepartments(corpId, inserted.id, facts.departments ?? [], facts.leaderIn ?? [])),
        ]);
        const user = await repo.get(corpId, inserted.id);
        if (!user) throw new Error(`user ${inserted.id} vanished`);
        return { user, outcome: 'created' };
      }

      const name = facts.name ?? existing.name;
      const mobile = facts.mobile ?? existing.mobile;
      const { changed, departmentsChanged, leaderChanged } = memberChanges(existing, facts);
      if (!changed) return { user: existing, outcome: 'unchanged' };
      const statements = [
        // Going inactive ends the member's sessions (`status` on the right is the old value).
        db
          .prepare(
            `UPDATE users SET wecom_userid = ?2, name = ?3, mobile = ?4, status = ?5, updated_at = ?6,
               session_generation = session_generation + (status = 'active' AND ?5 = 'inactive') WHERE id = ?1`,
          )
          .bind(existing.id, facts.userid, name, mobile, status, policy.now),
      ];
      if (facts.departments !== undefined && (departmentsChanged || leaderChanged)) {
        statements.push(...(await setDepartments(corpId, existing.id, facts.departments, facts.leaderIn ?? [])));
      }
      await db.batch(statements);
      const user = await repo.get(corpId, existing.id);
      if (!user) throw new Error(`user ${existing.id} vanished`);
      return { user, outcome: 'updated' };
    },

    async recordLogin(userId, now) {
      await db.prepare('UPDATE users SET last_login_at = ?2 WHERE id = ?1').bind(userId, now).run();
    },

    async renameWecomId(corpId, from, to, now) {
      await db
        .prepare('UPDATE users SET wecom_userid = ?3, updated_at = ?4 WHERE corp_id = ?1 AND wecom_userid = ?2 AND NOT EXISTS (SELECT 1 FROM users WHERE corp_id = ?1 AND wecom_userid = ?3)')
        .bind(corpId, from, to, now)
        .run();
    },

    async endSessions(corpId, userId) {
      const row = await db
        .prepare('UPDATE users SET session_generation = session_generation + 1 WHERE corp_id = ?1 AND id = ?2 RETURNING id')
        .bind(corpId, userId)
        .first<{ id: number }>();
      return row !== null;
    },

    async deactivate(corpId, wecomUserId, now) {
      const row = await db
        .prepare("UPDATE users SET status = 'inactive', session_generation = session_generation + 1, updated_at = ?3 WHERE corp_id = ?1 AND wecom_userid = ?2 AND status = 'active' RETURNING id")
        .bind(corpId, wecomUserId, now)
        .first<{ id: number }>();
      return row ? repo.get(corpId, row.id) : undefined;
    },

    async setRoles(corpId, userId, roles, grantedBy, now) {
      await db.batch([
        db.prepare('DELETE FROM user_roles WHERE user_id = ?1 AND user_id IN (SELECT id FROM users WHERE corp_id = ?2)').bind(userId, corpId),
        ...roles.map((role) =>
          db
            .prepare('INSERT INTO user_roles (user_id, role, granted_by, granted_at) SELECT id, ?2, ?3, ?4 FROM users WHERE id = ?1 AND corp_id = ?5')
            .bind(userId, role, grantedBy, now, corpId),
        ),
      ]);
    },

    async upsertDepartment(corpId, department, now) {
      await db
        .prepare(
          `INSERT INTO departments (corp_id, id, name, parent_id, sort_order, updated_at) VALUES (?1, ?2, COALESCE(?3, ''), ?4, COALESCE(?5, 0), ?6)
           ON CONFLICT (corp_id, id) DO UPDATE SET
             name = COALESCE(?3, name), parent_id = COALESCE(?4, parent_id), sort_order = COALESCE(?5, sort_order), updated_at = ?6`,
        )
        .bind(corpId, department.id, department.name ?? null, department.parentId ?? null, department.order ?? null, now)
        .run();
    },

    async deleteDepartment(corpId, id) {
      await db.batch([
        db.prepare('DELETE FROM departments WHERE corp_id = ?1 AND id = ?2').bind(corpId, id),
        db.prepare('DELETE FROM user_departments WHERE corp_id = ?1 AND department_id = ?2').bind(corpId, id),
      ]);
    },

    async departmentSubtree(corpId, ids) {
      if (ids.length === 0) return [];
      const { results } = await db
        .prepare(
          `WITH RECURSIVE tree(id) AS (
             SELECT value FROM json_each(?2)
             UNION SELECT d.id FROM departments d JOIN tree ON d.parent_id = tree.id WHERE d.corp_id = ?1
           ) SELECT id FROM tree`,
        )
        .bind(corpId, JSON.stringify(ids))
        .all<{ id: number }>();
      return results.map((row) => row.id).sort((a, b) => a - b);
    },
  };
  return repo;
}
