/**
 * @module
 * Who may see and change which contacts and customers. Decided from this product's own data
 * (roles, departments) and WeCom's follow lists, never from what the client claims:
 * admin sees everything; a manager sees what members of their departments (and below) follow or own;
 * sales and viewers see what they follow or own; viewers never write.
 */
import type { Customer } from '../crm/port.ts';
import type { User, UserRepo } from '../identity/users.ts';
import type { ContactStore } from './store.ts';

export interface Scope {
  all: boolean;
  /** WeCom userids whose contacts and customers are in scope. */
  userids: Set<string>;
  canWrite: boolean;
}

export async function scopeOf(user: User, users: UserRepo, db: D1Database): Promise<Scope> {
  const canWrite = user.roles.some((role) => role === 'admin' || role === 'manager' || role === 'sales');
  if (user.roles.includes('admin')) return { all: true, userids: new Set(), canWrite };
  const userids = new Set<string>(user.wecomUserId ? [user.wecomUserId] : []);
  if (user.roles.includes('manager')) {
    const departments = await users.departmentSubtree(user.corpId, user.departments.map((d) => d.id));
    if (departments.length > 0) {
      const { results } = await db
        .prepare(
          `SELECT DISTINCT u.wecom_userid FROM user_departments ud JOIN users u ON u.id = ud.user_id
           WHERE ud.corp_id = ?1 AND ud.department_id IN (SELECT value FROM json_each(?2)) AND u.wecom_userid IS NOT NULL`,
        )
        .bind(user.corpId, JSON.stringify(departments))
        .all<{ wecom_userid: string }>();
      for (const row of results) userids.add(row.wecom_userid);
    }
  }
  return { all: false, userids, canWrite };
}

/** A contact is in scope when someone in scope follows it (per WeCom's current follow list). */
export function contactInScope(scope: Scope, followUserids: readonly string[]): boolean {
  return scope.all || followUserids.some((userid) => scope.userids.has(userid));
}

export async function customerInScope(scope: Scope, customer: Customer, corpId: string, contacts: ContactStore): Promise<boolean> {
  if (scope.all) return true;
  if (customer.ownerUserid && scope.userids.has(customer.ownerUserid)) return true;
  return contacts.customerReachableBy(corpId, customer.id, [...scope.userids]);
}

export interface Linker {
  userid: string;
  name: string;
  role: 'owner' | 'manager' | 'admin';
}

/**
 * Who may link a customer to a contact: its owner, an active manager of a department the owner is
 * in or one above it (their scope covers the owner), and active admins. Named in refusals, so the
 * salesperson knows whom to ask.
 */
export async function linkersOf(db: D1Database, corpId: string, ownerUserid: string | null): Promise<Linker[]> {
  const { results } = await db
    .prepare(
      `WITH RECURSIVE up(id) AS (
         SELECT ud.department_id FROM user_departments ud JOIN users u ON u.id = ud.user_id WHERE u.corp_id = ?1 AND u.wecom_userid = ?2
         UNION SELECT d.parent_id FROM departments d JOIN up ON d.id = up.id WHERE d.corp_id = ?1 AND d.parent_id IS NOT NULL
       )
       SELECT u.wecom_userid AS userid, u.name, MIN(r.role) AS role FROM users u JOIN user_roles r ON r.user_id = u.id
       WHERE u.corp_id = ?1 AND u.status = 'active' AND u.wecom_userid IS NOT NULL AND u.wecom_userid IS NOT ?2
         AND (r.role = 'admin' OR (r.role = 'manager' AND EXISTS (
           SELECT 1 FROM user_departments ud WHERE ud.user_id = u.id AND ud.department_id IN (SELECT id FROM up))))
       GROUP BY u.id ORDER BY role DESC, u.name`,
    )
    .bind(corpId, ownerUserid)
    .all<{ userid: string; name: string; role: 'manager' | 'admin' }>();
  const owner = ownerUserid
    ? await db.prepare("SELECT name FROM users WHERE corp_id = ?1 AND wecom_userid = ?2 AND status = 'active'").bind(corpId, ownerUserid).first<{ name: string }>()
    : null;
  return [...(owner && ownerUserid ? [{ userid: ownerUserid, name: owner.name || ownerUserid, role: 'owner' as const }] : []), ...results];
}
