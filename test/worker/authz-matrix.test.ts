/**
 * @module
 * Every `/api` route against every way of not being allowed: no session, a malformed or unknown
 * one, one past its maximum age, one logged out, one revoked by an admin, one of a member who was
 * deactivated (401), and each role the route must turn away (403: viewers on writes; sales,
 * managers and viewers on admin routes).
 * Each route is also tried once by the least privileged role that may use it, so a route that
 * refuses everyone cannot pass for a guarded one.
 *
 * The list below is docs/api.md's, with the roles it gives. A test compares it with the routes the
 * app really registers, so a route added without a row here fails the suite.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { createBuiltinCrm } from '../../worker/crm/builtin.ts';
import { profileKey } from '../../worker/contacts/profile.ts';
import { createSessionStore, sessionKey } from '../../worker/identity/sessions.ts';
import { createUserRepo } from '../../worker/identity/users.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { waitFor } from './callback-helpers.ts';
import { api, login, origin, resetIdentity, setRole } from './identity-helpers.ts';

const corpId = env.WECOM_CORP_ID!;
const { withoutUnionid: LIU_YANG, weComUser: ZHOU_MIN } = demoIds.externalUserIds;

/**
 * - `public`: no session needed.
 * - `member`: any role; what they see is limited by scope, not refused by role.
 * - `writer`: admin, manager, sales; a viewer is refused.
 * - `manager`: admin and manager; what a manager may touch is limited by scope.
 * - `admin`: admin only.
 */
type Access = 'public' | 'member' | 'writer' | 'manager' | 'admin';

/** What a request is about: a contact and a customer the acting user may see. */
interface Subject {
  contact: string;
  customerId: string;
  /** A user id for the admin routes that act on a user. */
  userId: number;
}

interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As the app registers it. */
  route: string;
  access: Access;
  /** Not (yet) in docs/api.md. */
  undocumented?: true;
  /** A well-formed request, so that only the caller's identity can make it fail. */
  request(subject: Subject): { path: string; body?: unknown; headers?: Record<string, string> };
}

/** A reply of the manager's own department (华东销售部), so only the role can refuse it. */
const REPLY_DRAFT = { group: '开场', title: 'authz matrix', departmentId: demoIds.departments.salesEast, body: { msgtype: 'text', text: { content: '您好' } } };

const ROUTES: RouteSpec[] = [
  { method: 'POST', route: '/api/jssdk/signatures', access: 'public', request: () => ({ path: '/api/jssdk/signatures', body: { url: `${origin}/` } }) },
  { method: 'GET', route: '/api/me', access: 'member', request: () => ({ path: '/api/me' }) },
  { method: 'GET', route: '/api/contacts/:externalUserId', access: 'member', request: (s) => ({ path: `/api/contacts/${s.contact}` }) },
  { method: 'PUT', route: '/api/contacts/:externalUserId/binding', access: 'writer', request: (s) => ({ path: `/api/contacts/${s.contact}/binding`, body: { customerId: s.customerId } }) },
  { method: 'DELETE', route: '/api/contacts/:externalUserId/binding', access: 'writer', request: (s) => ({ path: `/api/contacts/${s.contact}/binding` }) },
  { method: 'POST', route: '/api/contacts/:externalUserId/customer', access: 'writer', request: (s) => ({ path: `/api/contacts/${s.contact}/customer`, body: { stage: 'lead' } }) },
  { method: 'GET', route: '/api/contacts/:externalUserId/tags', access: 'member', request: (s) => ({ path: `/api/contacts/${s.contact}/tags` }) },
  { method: 'POST', route: '/api/contacts/:externalUserId/tags', access: 'writer', request: (s) => ({ path: `/api/contacts/${s.contact}/tags`, body: { add: ['etDemoTagProductStandard00000001'] } }) },
  { method: 'PATCH', route: '/api/contacts/:externalUserId/remark', access: 'writer', request: (s) => ({ path: `/api/contacts/${s.contact}/remark`, body: { description: 'authz matrix' } }) },
  { method: 'GET', route: '/api/customers', access: 'member', request: () => ({ path: '/api/customers?q=%E5%88%98' }) },
  { method: 'GET', route: '/api/customers/:id', access: 'member', request: (s) => ({ path: `/api/customers/${s.customerId}` }) },
  { method: 'PATCH', route: '/api/customers/:id', access: 'writer', request: (s) => ({ path: `/api/customers/${s.customerId}`, body: { stage: 'qualified' }, headers: { 'if-match': '"1"' } }) },
  { method: 'GET', route: '/api/customers/:id/notes', access: 'member', request: (s) => ({ path: `/api/customers/${s.customerId}/notes` }) },
  { method: 'POST', route: '/api/customers/:id/notes', access: 'writer', request: (s) => ({ path: `/api/customers/${s.customerId}/notes`, body: { body: 'authz matrix' } }) },
  { method: 'GET', route: '/api/customers/:id/timeline', access: 'member', request: (s) => ({ path: `/api/customers/${s.customerId}/timeline` }) },
  { method: 'GET', route: '/api/customers/:id/follow-up', access: 'member', request: (s) => ({ path: `/api/customers/${s.customerId}/follow-up` }) },
  { method: 'PUT', route: '/api/customers/:id/follow-up', access: 'writer', request: (s) => ({ path: `/api/customers/${s.customerId}/follow-up`, body: { dueAt: Date.now() + 3_600_000, note: 'authz matrix' } }) },
  { method: 'DELETE', route: '/api/customers/:id/follow-up', access: 'writer', request: (s) => ({ path: `/api/customers/${s.customerId}/follow-up` }) },
  { method: 'GET', route: '/api/me/notifications', access: 'member', request: () => ({ path: '/api/me/notifications' }) },
  { method: 'PUT', route: '/api/me/notifications', access: 'member', request: () => ({ path: '/api/me/notifications', body: { settings: { new_customer: true } } }) },
  { method: 'GET', route: '/api/chats/:chatId', access: 'member', request: () => ({ path: `/api/chats/${demoIds.chatId}` }) },
  { method: 'GET', route: '/api/replies', access: 'member', request: () => ({ path: '/api/replies?q=%E6%8A%A5%E4%BB%B7' }) },
  { method: 'POST', route: '/api/replies/:id/usage', access: 'member', request: () => ({ path: '/api/replies/1/usage', body: { action: 'copied' } }) },
  { method: 'GET', route: '/api/replies/manage', access: 'manager', request: () => ({ path: '/api/replies/manage' }) },
  { method: 'POST', route: '/api/replies/manage', access: 'manager', request: () => ({ path: '/api/replies/manage', body: REPLY_DRAFT }) },
  { method: 'PUT', route: '/api/replies/manage/:id', access: 'manager', request: () => ({ path: '/api/replies/manage/1', body: REPLY_DRAFT }) },
  { method: 'DELETE', route: '/api/replies/manage/:id', access: 'manager', request: () => ({ path: '/api/replies/manage/1' }) },
  { method: 'GET', route: '/api/admin/users', access: 'admin', request: () => ({ path: '/api/admin/users' }) },
  { method: 'PUT', route: '/api/admin/users/:id/roles', access: 'admin', request: (s) => ({ path: `/api/admin/users/${s.userId}/roles`, body: { roles: ['sales'] } }) },
  { method: 'POST', route: '/api/admin/users/:id/sessions/revoke', access: 'admin', undocumented: true, request: (s) => ({ path: `/api/admin/users/${s.userId}/sessions/revoke` }) },
  { method: 'POST', route: '/api/admin/org-sync', access: 'admin', request: () => ({ path: '/api/admin/org-sync' }) },
  { method: 'GET', route: '/api/admin/org-sync/latest', access: 'admin', request: () => ({ path: '/api/admin/org-sync/latest' }) },
  { method: 'GET', route: '/api/admin/org-sync/:id', access: 'admin', request: () => ({ path: '/api/admin/org-sync/1' }) },
  // Run 1 is long finished (or unknown) by then: an allowed caller gets 409 or 404, never a refusal.
  { method: 'POST', route: '/api/admin/org-sync/:id/cancel', access: 'admin', request: () => ({ path: '/api/admin/org-sync/1/cancel' }) },
  { method: 'POST', route: '/api/admin/reconcile', access: 'admin', request: () => ({ path: '/api/admin/reconcile' }) },
  { method: 'GET', route: '/api/admin/reconcile/latest', access: 'admin', request: () => ({ path: '/api/admin/reconcile/latest' }) },
  { method: 'GET', route: '/api/admin/reconcile/:id', access: 'admin', request: () => ({ path: '/api/admin/reconcile/1' }) },
  { method: 'POST', route: '/api/admin/reconcile/:id/cancel', access: 'admin', request: () => ({ path: '/api/admin/reconcile/1/cancel' }) },
  { method: 'GET', route: '/api/admin/tags', access: 'admin', request: () => ({ path: '/api/admin/tags' }) },
  { method: 'POST', route: '/api/admin/tags', access: 'admin', request: () => ({ path: '/api/admin/tags', body: { groupName: '权限矩阵', tags: ['一'] } }) },
  { method: 'PUT', route: '/api/admin/tags/mappings', access: 'admin', request: () => ({ path: '/api/admin/tags/mappings', body: { mappings: [] } }) },
  { method: 'POST', route: '/api/admin/tags/pending/retry', access: 'admin', request: () => ({ path: '/api/admin/tags/pending/retry' }) },
  // A tag WeCom does not know: an allowed caller gets 409 tag_not_found, never a refusal.
  { method: 'PATCH', route: '/api/admin/tags/:id', access: 'admin', request: () => ({ path: '/api/admin/tags/etNoSuchTag', body: { name: '权限' } }) },
  { method: 'DELETE', route: '/api/admin/tags/:id', access: 'admin', request: () => ({ path: '/api/admin/tags/etNoSuchTag' }) },
  { method: 'GET', route: '/api/admin/events', access: 'admin', request: () => ({ path: '/api/admin/events?limit=5' }) },
  { method: 'GET', route: '/api/admin/lost-customers', access: 'admin', request: () => ({ path: '/api/admin/lost-customers?member=wangwu' }) },
  { method: 'GET', route: '/api/admin/app-messages/failures', access: 'admin', request: () => ({ path: '/api/admin/app-messages/failures' }) },
  { method: 'GET', route: '/api/admin/diagnostics', access: 'admin', request: () => ({ path: '/api/admin/diagnostics' }) },
];

/** The roles each access level turns away. */
const DENIED: Record<Access, Array<'viewer' | 'sales' | 'manager'>> = {
  public: [],
  member: [],
  writer: ['viewer'],
  manager: ['viewer', 'sales'],
  admin: ['viewer', 'sales', 'manager'],
};

/** Who tries each route as an allowed caller: the least privileged role that may. */
const ALLOWED: Record<Exclude<Access, 'public'>, 'viewer' | 'sales' | 'manager' | 'admin'> = { member: 'viewer', writer: 'sales', manager: 'manager', admin: 'admin' };

type SessionState = 'none' | 'malformed' | 'unknown' | 'expired' | 'logged out' | 'revoked by an admin' | 'member deactivated';
const DEAD_SESSIONS: SessionState[] = ['none', 'malformed', 'unknown', 'expired', 'logged out', 'revoked by an admin', 'member deactivated'];

interface Fixture {
  cookies: Record<'admin' | 'manager' | 'sales' | 'viewer', string>;
  dead: Record<SessionState, string>;
  /** What the viewer (wangwu, demoted) follows and owns. */
  viewerSubject: Subject;
  /** What the sales member (zhaoliu) follows and owns. */
  salesSubject: Subject;
}

function send(spec: RouteSpec, subject: Subject, cookie: string): Promise<Response> {
  const { path, body, headers } = spec.request(subject);
  const init: RequestInit = { method: spec.method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return api(path, cookie, init);
}

async function userId(userid: string): Promise<number> {
  const row = await env.DB.prepare('SELECT id FROM users WHERE corp_id = ?1 AND wecom_userid = ?2').bind(corpId, userid).first<{ id: number }>();
  if (!row) throw new Error(`${userid} has not logged in`);
  return row.id;
}

async function resetAll(): Promise<void> {
  await resetIdentity();
  await env.DB.batch(
    ['contact_bindings', 'contact_follows', 'touchpoints', 'crm_customer_mobiles', 'crm_notes', 'crm_history', 'crm_idempotency', 'crm_customers'].map((table) =>
      env.DB.prepare(`DELETE FROM ${table}`),
    ),
  );
  for (const id of Object.values(demoIds.externalUserIds)) await env.KV.delete(profileKey(corpId, id));
}

async function setup(): Promise<Fixture> {
  await resetAll();
  const crm = createBuiltinCrm(env.DB);
  const write = (key: string) => ({ corpId, actor: 'test', idempotencyKey: key });
  const wangwuCustomer = await crm.create({ name: '刘洋', company: '', ownerUserid: 'wangwu' }, write('authz-wangwu'));
  const zhaoliuCustomer = await crm.create({ name: '周敏', company: '', ownerUserid: 'zhaoliu' }, write('authz-zhaoliu'));

  const admin = await login('zhangsan');
  const manager = await login('lisi');
  await setRole('lisi', 'manager');
  const sales = await login('zhaoliu');
  // wangwu follows 刘洋 and owns a customer: as a viewer, only the role can refuse him a write.
  const viewer = await login('wangwu');
  await setRole('wangwu', 'viewer');

  // The member every admin route that acts on a user acts on, and whose sessions an admin revokes.
  const revokedCookie = await login('sunqi');
  const sunqi = await userId('sunqi');
  const revoke = await api(`/api/admin/users/${sunqi}/sessions/revoke`, admin, { method: 'POST' });
  expect(revoke.status).toBe(200);

  // A member who left: their session outlives them in KV, but not past the guard.
  const deactivated = await login('sunqi');
  expect(await createUserRepo(env.DB).deactivate(corpId, 'sunqi', Date.now())).toMatchObject({ status: 'inactive' });

  const loggedOut = await login('wangwu');
  expect((await api('/auth/logout', loggedOut, { method: 'POST' })).status).toBe(200);

  // Past the 7-day ceiling: the record is still in KV, but the session is over.
  const expired = await login('wangwu');
  const key = sessionKey(await createSessionStore(env.KV, env.SESSION_SECRET ?? '').hashOf(expired.slice('sid='.length)));
  const record = await env.KV.get<Record<string, unknown>>(key, 'json');
  expect(record).not.toBeNull();
  const longAgo = Date.now() - 8 * 24 * 60 * 60 * 1000;
  await env.KV.put(key, JSON.stringify({ ...record, createdAt: longAgo, lastSeenAt: Date.now() - 60_000 }), { expirationTtl: 3600 });

  return {
    cookies: { admin, manager, sales, viewer },
    dead: {
      none: '',
      malformed: 'sid=not-a-session',
      unknown: `sid=${'A'.repeat(43)}`,
      expired,
      'logged out': loggedOut,
      'revoked by an admin': revokedCookie,
      'member deactivated': deactivated,
    },
    viewerSubject: { contact: LIU_YANG, customerId: wangwuCustomer.id, userId: sunqi },
    salesSubject: { contact: ZHOU_MIN, customerId: zhaoliuCustomer.id, userId: sunqi },
  };
}

describe('authorization matrix over every /api route', () => {
  let fixture: Fixture;

  beforeAll(async () => {
    fixture = await setup();
  }, 60_000);

  it('lists exactly the /api routes the app registers', () => {
    const registered = createApp()
      .routes.filter((r) => r.path.startsWith('/api/') && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`);
    expect([...new Set(registered)].sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.route}`).sort());
  });

  const labelled = ROUTES.map((spec) => ({ ...spec, label: `${spec.method} ${spec.route} (${spec.access}${spec.undocumented ? '; not in docs/api.md' : ''})` }));
  describe.each(labelled)('$label', (spec) => {
    if (spec.access === 'public') {
      it('answers without a session, and a dead session changes nothing', async () => {
        for (const state of DEAD_SESSIONS) {
          const response = await send(spec, fixture.viewerSubject, fixture.dead[state]);
          expect(response.status, `with session: ${state}`).toBe(200);
        }
      });
      return;
    }

    it('answers 401 unauthenticated without a live session', async () => {
      const wrong: string[] = [];
      for (const state of DEAD_SESSIONS) {
        const response = await send(spec, fixture.viewerSubject, fixture.dead[state]);
        const body = (await response.json()) as { error?: string };
        if (response.status !== 401 || body.error !== 'unauthenticated') wrong.push(`${state}: ${response.status} ${body.error}`);
      }
      expect(wrong).toEqual([]);
    });

    const denied = DENIED[spec.access];
    if (denied.length > 0) {
      it(`answers 403 forbidden to ${denied.join(', ')}`, async () => {
        const wrong: string[] = [];
        for (const role of denied) {
          // A viewer acts on what they follow and own, so scope cannot be what refuses them.
          const subject = role === 'viewer' ? fixture.viewerSubject : fixture.salesSubject;
          const response = await send(spec, subject, fixture.cookies[role]);
          const body = (await response.json()) as { error?: string };
          if (response.status !== 403 || body.error !== 'forbidden') wrong.push(`${role}: ${response.status} ${body.error}`);
        }
        expect(wrong).toEqual([]);
      });
    }

    const allowed = ALLOWED[spec.access];
    it(`lets ${allowed} through`, async () => {
      const subject = allowed === 'viewer' ? fixture.viewerSubject : fixture.salesSubject;
      const response = await send(spec, subject, fixture.cookies[allowed]);
      // Success, or for a lookup by id an honest 404 (and for cancelling a finished run, 409): anything but a refusal or a failure.
      const honest = response.ok || response.status === 404 || ((spec.route.endsWith('/cancel') || spec.route === '/api/admin/tags/:id') && response.status === 409);
      expect(honest, `${allowed}: ${response.status} ${await response.text()}`).toBe(true);
      // Jobs an admin starts run in the background; let them finish before the next route is tried.
      if (spec.route === '/api/admin/org-sync' || spec.route === '/api/admin/reconcile') {
        const latest = spec.route === '/api/admin/org-sync' ? '/api/admin/org-sync/latest' : '/api/admin/reconcile/latest';
        await waitFor(async () => {
          const body = (await (await api(latest, fixture.cookies.admin)).json()) as { run: { status: string } | null };
          return body.run && body.run.status !== 'running' ? body.run : undefined;
        }, 30_000);
      }
    });
  });
});
