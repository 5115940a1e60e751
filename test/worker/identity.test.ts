import { createExecutionContext, env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { createSessionStore } from '../../worker/identity/sessions.ts';
import { eventXml } from '../../worker/wecom/envelope.ts';
import { postCallback, waitFor } from './callback-helpers.ts';
import { api, login, resetIdentity } from './identity-helpers.ts';
import { sim } from './simulator-control.ts';

interface MeBody {
  user: { id: number; userid: string; name: string; roles: string[]; departments: Array<{ id: number; name: string }> };
}

async function me(cookie: string): Promise<Response> {
  return api('/api/me', cookie);
}

async function runSync(cookie: string) {
  const started = await api('/api/admin/org-sync', cookie, { method: 'POST' });
  expect(started.status).toBe(202);
  const { run } = (await started.json()) as { run: { id: number } };
  return waitFor(async () => {
    const response = await api(`/api/admin/org-sync/${run.id}`, cookie);
    const body = (await response.json()) as { run: { status: string } & Record<string, unknown> };
    return body.run.status === 'running' ? undefined : body.run;
  });
}

describe('first login provisioning', () => {
  beforeEach(resetIdentity);

  it('creates a user with the default role, once', async () => {
    const first = await me(await login('wangwu'));
    const body = (await first.json()) as MeBody;
    expect(body.user).toMatchObject({ userid: 'wangwu', name: '王五', roles: ['sales'] });
    expect(body.user.departments.map((d) => d.id).length).toBeGreaterThan(0);
    await login('wangwu');
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE wecom_userid = 'wangwu'").all();
    expect(results).toHaveLength(1);
  });

  it('gives ADMIN_USERIDS the admin role at first login', async () => {
    const body = (await (await me(await login('zhangsan'))).json()) as MeBody;
    expect(body.user.roles).toEqual(['admin']);
  });

  it('links an admin-created user by mobile when the member first logs in', async () => {
    const now = Date.now();
    const created = await env.DB.prepare("INSERT INTO users (corp_id, name, mobile, created_at, updated_at) VALUES (?1, '赵六 (imported)', '13800000004', ?2, ?2) RETURNING id")
      .bind(env.WECOM_CORP_ID, now)
      .first<{ id: number }>();
    await env.DB.prepare("INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES (?1, 'manager', 'import', ?2)").bind(created!.id, now).run();

    // With snsapi_privateinfo the worker reads the member's mobile through auth/getuserdetail.
    const app = createApp();
    const privateEnv = { ...env, WECOM_OAUTH_SCOPE: 'snsapi_privateinfo' };
    const cookie = await login('zhaoliu', (request) => Promise.resolve(app.request(request, undefined, privateEnv, createExecutionContext())), 'snsapi_privateinfo');
    const body = (await (await me(cookie)).json()) as MeBody;
    expect(body.user.id).toBe(created!.id);
    expect(body.user.userid).toBe('zhaoliu');
    expect(body.user.roles).toEqual(['manager']);
  });
});

describe('roles on /api routes', () => {
  beforeEach(resetIdentity);

  it('answers 401 without a session or with an unknown one', async () => {
    expect((await me('')).status).toBe(401);
    expect((await me(`sid=${'x'.repeat(43)}`)).status).toBe(401);
    expect((await api('/api/admin/users', '')).status).toBe(401);
  });

  it.each([
    ['lisi', 'manager'],
    ['wangwu', 'sales'],
  ])('refuses admin routes to %s (%s) with a reason', async (userid) => {
    const cookie = await login(userid);
    for (const [path, method] of [
      ['/api/admin/users', 'GET'],
      ['/api/admin/events', 'GET'],
      ['/api/admin/org-sync', 'POST'],
    ] as const) {
      const response = await api(path, cookie, { method });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('admin') });
    }
  });

  it('lets an admin list users, assign roles, but not drop their own admin role', async () => {
    const adminCookie = await login('zhangsan');
    const viewerCookie = await login('sunqi');
    const sunqi = ((await (await me(viewerCookie)).json()) as MeBody).user;
    const zhangsan = ((await (await me(adminCookie)).json()) as MeBody).user;

    const list = await api('/api/admin/users', adminCookie);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { users: Array<{ wecomUserId: string }> }).users.map((u) => u.wecomUserId).sort()).toEqual(['sunqi', 'zhangsan']);

    const assign = await api(`/api/admin/users/${sunqi.id}/roles`, adminCookie, { method: 'PUT', body: JSON.stringify({ roles: ['viewer'] }) });
    expect(assign.status).toBe(200);
    expect(((await (await me(viewerCookie)).json()) as MeBody).user.roles).toEqual(['viewer']);

    const bad = await api(`/api/admin/users/${sunqi.id}/roles`, adminCookie, { method: 'PUT', body: JSON.stringify({ roles: ['owner'] }) });
    expect(bad.status).toBe(400);

    const self = await api(`/api/admin/users/${zhangsan.id}/roles`, adminCookie, { method: 'PUT', body: JSON.stringify({ roles: ['sales'] }) });
    expect(self.status).toBe(409);

    const byViewer = await api(`/api/admin/users/${zhangsan.id}/roles`, viewerCookie, { method: 'PUT', body: JSON.stringify({ roles: ['viewer'] }) });
    expect(byViewer.status).toBe(403);
  });
});

describe('org sync', () => {
  beforeEach(resetIdentity);

  it('pulls departments and members from WeCom and reports the result', async () => {
    const cookie = await login('zhangsan');
    const run = await runSync(cookie);
    expect(run).toMatchObject({ status: 'succeeded', failed: 0, deactivated: 0 });
    expect(run.created as number).toBeGreaterThan(0);
    const { results: departments } = await env.DB.prepare('SELECT id, name FROM departments').all<{ id: number; name: string }>();
    expect(departments.length).toBeGreaterThan(1);
    const list = (await (await api('/api/admin/users', cookie)).json()) as { users: Array<{ wecomUserId: string; roles: string[]; departments: unknown[] }>; latestSync: { id: number } };
    const wangwu = list.users.find((u) => u.wecomUserId === 'wangwu');
    expect(wangwu?.roles).toEqual(['sales']);
    expect(wangwu?.departments.length).toBeGreaterThan(0);
    expect(list.latestSync.id).toBe(run.id);
  });

  it('deactivates members WeCom no longer lists and ends their sessions', async () => {
    const cookie = await login('zhangsan');
    const now = Date.now();
    const ghost = await env.DB.prepare("INSERT INTO users (corp_id, wecom_userid, name, created_at, updated_at) VALUES (?1, 'ghost', 'Ghost', ?2, ?2) RETURNING id")
      .bind(env.WECOM_CORP_ID, now)
      .first<{ id: number }>();
    await env.DB.prepare("INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES (?1, 'sales', 'test', ?2)").bind(ghost!.id, now).run();
    const session = await createSessionStore(env.KV, env.SESSION_SECRET!).create({ userId: ghost!.id, corpId: env.WECOM_CORP_ID!, agentId: env.WECOM_AGENT_ID!, wecomUserId: 'ghost', generation: 0 });
    expect((await me(`sid=${session.id}`)).status).toBe(200);

    const run = await runSync(cookie);
    expect(run).toMatchObject({ status: 'succeeded', deactivated: 1 });
    const row = await env.DB.prepare('SELECT status FROM users WHERE id = ?1').bind(ghost!.id).first<{ status: string }>();
    expect(row?.status).toBe('inactive');
    expect((await me(`sid=${session.id}`)).status).toBe(401);
  });

  it('fails with the console fix, and deactivates nobody, when the visible range is empty', async () => {
    const cookie = await login('zhangsan');
    await sim('mode', { emptyVisibleRange: true });
    const run = await runSync(cookie);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('visible range');
    const { results } = await env.DB.prepare("SELECT wecom_userid FROM users WHERE status = 'inactive'").all();
    expect(results).toHaveLength(0);
  });
});

describe('ending every session of a member', () => {
  beforeEach(resetIdentity);

  async function sessionsOf(userid: string, count: number): Promise<string[]> {
    const cookies: string[] = [];
    for (let i = 0; i < count; i++) cookies.push(await login(userid));
    return cookies;
  }

  async function statuses(cookies: string[]): Promise<number[]> {
    return Promise.all(cookies.map(async (cookie) => (await me(cookie)).status));
  }

  it('refuses all 26 sessions of a member after an admin revokes them', async () => {
    const admin = await login('zhangsan');
    const cookies = await sessionsOf('wangwu', 26);
    expect(new Set(await statuses(cookies))).toEqual(new Set([200]));
    const wangwu = ((await (await me(cookies[0]!)).json()) as MeBody).user;

    const revoke = await api(`/api/admin/users/${wangwu.id}/sessions/revoke`, admin, { method: 'POST' });
    expect(revoke.status).toBe(200);
    const after = await Promise.all(cookies.map((cookie) => me(cookie)));
    expect(after.map((response) => response.status)).toEqual(cookies.map(() => 401));
    expect(await after[0]!.json()).toMatchObject({ error: 'unauthenticated' });
    expect((await me(admin)).status).toBe(200);
    expect((await me(await login('wangwu'))).status).toBe(200);
  });

  it('answers 404 not_found when revoking the sessions of a user who does not exist', async () => {
    const admin = await login('zhangsan');
    const response = await api('/api/admin/users/999999/sessions/revoke', admin, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it('keeps every session from before a deactivation dead after org sync reactivates the member', async () => {
    const admin = await login('zhangsan');
    const cookies = await sessionsOf('wangwu', 22);
    const response = await postCallback(
      eventXml({ ToUserName: env.WECOM_CORP_ID!, FromUserName: 'sys', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event', Event: 'change_contact', ChangeType: 'delete_user', UserID: 'wangwu' }),
    );
    expect(response.status).toBe(200);
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT status FROM users WHERE wecom_userid = 'wangwu'").first<{ status: string }>();
      return row?.status === 'inactive' ? row : undefined;
    });

    // WeCom still lists wangwu, so the next org sync makes the account active again.
    expect(await runSync(admin)).toMatchObject({ status: 'succeeded' });
    const row = await env.DB.prepare("SELECT status FROM users WHERE wecom_userid = 'wangwu'").first<{ status: string }>();
    expect(row?.status).toBe('active');
    expect(await statuses(cookies)).toEqual(cookies.map(() => 401));
    // 22 logins, an event through the queue and a whole org sync on Workflows.
  }, 20_000);
});

describe('change_contact events', () => {
  beforeEach(resetIdentity);

  it('deactivates a deleted member and kills their session', async () => {
    const cookie = await login('lisi');
    expect((await me(cookie)).status).toBe(200);
    const createTime = Math.floor(Date.now() / 1000);
    const response = await postCallback(
      eventXml({ ToUserName: env.WECOM_CORP_ID!, FromUserName: 'sys', CreateTime: createTime, MsgType: 'event', Event: 'change_contact', ChangeType: 'delete_user', UserID: 'lisi' }),
    );
    expect(response.status).toBe(200);
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT status FROM users WHERE wecom_userid = 'lisi'").first<{ status: string }>();
      return row?.status === 'inactive' ? row : undefined;
    });
    const after = await me(cookie);
    expect(after.status).toBe(401);
  });

  it('creates and renames members and keeps departments current', async () => {
    const corp = env.WECOM_CORP_ID!;
    const base = Math.floor(Date.now() / 1000);
    const send = (fields: Record<string, string | number>, offset: number) =>
      postCallback(eventXml({ ToUserName: corp, FromUserName: 'sys', CreateTime: base + offset, MsgType: 'event', Event: 'change_contact', ...fields }));
    expect((await send({ ChangeType: 'create_party', Id: 77, Name: '华南销售', ParentId: 1, Order: 5 }, 1)).status).toBe(200);
    expect((await send({ ChangeType: 'create_user', UserID: 'newbie', Name: '新人', Department: '77', Status: 1 }, 2)).status).toBe(200);
    const created = await waitFor(async () =>
      (await env.DB.prepare("SELECT id, name FROM users WHERE wecom_userid = 'newbie'").first<{ id: number; name: string }>()) ?? undefined,
    );
    expect(created.name).toBe('新人');
    expect((await send({ ChangeType: 'update_user', UserID: 'newbie', NewUserID: 'newbie.li' }, 3)).status).toBe(200);
    await waitFor(async () => (await env.DB.prepare("SELECT id FROM users WHERE wecom_userid = 'newbie.li'").first<{ id: number }>()) ?? undefined);
    const renamed = await env.DB.prepare("SELECT id FROM users WHERE wecom_userid = 'newbie.li'").first<{ id: number }>();
    expect(renamed?.id).toBe(created.id);
    const department = await env.DB.prepare('SELECT name, parent_id FROM departments WHERE id = 77').first<{ name: string; parent_id: number }>();
    expect(department).toEqual({ name: '华南销售', parent_id: 1 });
  });
});
