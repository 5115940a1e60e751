/**
 * @module
 * Who may read and write which quick replies, decided from this product's own users, roles and
 * departments, never from what the client sends:
 * - everyone reads corp-wide replies and those of their departments and every department above
 *   them (a reply of a department is for its whole subtree);
 * - admins write every reply, corp-wide ones included;
 * - managers write the replies of their departments and every department below them (as their
 *   contact scope, worker/contacts/access.ts), never corp-wide ones;
 * - sales and viewers only read.
 */
import type { User, UserRepo } from '../identity/users.ts';

export interface ReplyScope {
  /** Departments whose replies the user reads (besides corp-wide ones). */
  reads: number[];
  /** Every reply, corp-wide ones included (admins). */
  managesAll: boolean;
  /** Departments whose replies the user writes (managers; all of them for admins). */
  manages: number[];
}

export async function replyScopeOf(user: User, users: UserRepo, db: D1Database): Promise<ReplyScope> {
  const own = user.departments.map((d) => d.id);
  const reads = await departmentLineage(db, user.corpId, own);
  if (user.roles.includes('admin')) return { reads, managesAll: true, manages: await knownDepartments(db, user.corpId) };
  const manages = user.roles.includes('manager') ? await users.departmentSubtree(user.corpId, own) : [];
  return { reads, managesAll: false, manages };
}

export function managesDepartment(scope: ReplyScope, departmentId: number | null): boolean {
  if (departmentId === null) return scope.managesAll;
  return scope.managesAll || scope.manages.includes(departmentId);
}

/** The given departments and every department above them. */
async function departmentLineage(db: D1Database, corpId: string, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `WITH RECURSIVE up(id) AS (
         SELECT value FROM json_each(?2)
         UNION SELECT d.parent_id FROM departments d JOIN up ON d.id = up.id WHERE d.corp_id = ?1 AND d.parent_id IS NOT NULL
       ) SELECT id FROM up`,
    )
    .bind(corpId, JSON.stringify(ids))
    .all<{ id: number }>();
  return results.map((row) => row.id).sort((a, b) => a - b);
}

/** Every department the product knows in the corp: from org sync, or from members' logins before one. */
async function knownDepartments(db: D1Database, corpId: string): Promise<number[]> {
  const { results } = await db
    .prepare('SELECT id FROM departments WHERE corp_id = ?1 UNION SELECT department_id FROM user_departments WHERE corp_id = ?1')
    .bind(corpId)
    .all<{ id: number }>();
  return results.map((row) => row.id).sort((a, b) => a - b);
}
