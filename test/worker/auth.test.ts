import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { issueLoginState, LOGIN_STATE_SECONDS } from '../../worker/identity/login-state.ts';
import { safeReturnPath } from '../../worker/identity/oauth.ts';
import { eventXml } from '../../worker/wecom/envelope.ts';
import { postCallback, waitFor } from './callback-helpers.ts';
import { api, callback, cookieValue, login, origin, resetIdentity, setRole, simCode, startLogin } from './identity-helpers.ts';
import { sim, simBase } from './simulator-control.ts';

async function getUserInfoCalls(): Promise<number> {
  const calls = (await sim('calls')) as Record<string, number>;
  return calls['/cgi-bin/auth/getuserinfo'] ?? 0;
}

async function kvKeys(): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.KV.list(cursor === undefined ? {} : { cursor });
    names.push(...page.keys.map((key) => key.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return names.sort();
}

function flipLast(state: string): string {
  return `${state.slice(0, -1)}${state.endsWith('0') ? '1' : '0'}`;
}

describe('GET /auth/login', () => {
  beforeEach(resetIdentity);

  it('sends the WeCom app to the in-app authorize URL with every parameter', async () => {
    const { location, state, stateCookie } = await startLogin('/#/contact', 'Mozilla/5.0 (iPhone) wxwork/3.1.9 MicroMessenger/7.0.1');
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${simBase}/connect/oauth2/authorize`);
    expect(url.hash).toBe('#wechat_redirect');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: env.WECOM_CORP_ID,
      redirect_uri: `${origin}/auth/callback`,
      response_type: 'code',
      scope: 'snsapi_base',
      state,
      agentid: env.WECOM_AGENT_ID,
    });
    expect(state).toMatch(/^[A-Za-z0-9]{32,128}$/);
    expect(stateCookie).toBeTruthy();
  });

  it('sends a desktop browser to WeCom web login', async () => {
    const { location, state } = await startLogin('/');
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${simBase}/wwlogin/sso/login`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      login_type: 'CorpApp',
      appid: env.WECOM_CORP_ID,
      agentid: env.WECOM_AGENT_ID,
      redirect_uri: `${origin}/auth/callback`,
      state,
    });
  });

  it('sends the code back to PUBLIC_ORIGIN, whatever host the request named', async () => {
    const response = await exports.default.fetch('http://evil.example/auth/login?return=/', { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!).searchParams.get('redirect_uri')).toBe(`${env.PUBLIC_ORIGIN}/auth/callback`);
  });

  it('gives each login an unpredictable state', async () => {
    const states = new Set<string>();
    for (let i = 0; i < 5; i++) states.add((await startLogin()).state);
    expect(states.size).toBe(5);
  });

  it('sets the state cookie HttpOnly and SameSite, Secure on https', async () => {
    const plain = await exports.default.fetch(`${origin}/auth/login`, { redirect: 'manual' });
    const plainCookie = plain.headers.getSetCookie().find((c) => c.startsWith('oauth_state='))!;
    expect(plainCookie).toContain('HttpOnly');
    expect(plainCookie).toContain('SameSite=Lax');
    expect(plainCookie).not.toContain('Secure');
    const secure = await exports.default.fetch('https://crm.example.com/auth/login', { redirect: 'manual' });
    expect(secure.headers.getSetCookie().find((c) => c.startsWith('oauth_state='))).toContain('Secure');
  });
});

describe('GET /auth/callback', () => {
  beforeEach(resetIdentity);

  it('exchanges the code once, creates a session and returns to the requested path', async () => {
    const { state, stateCookie } = await startLogin('/#/customers?tab=notes');
    const code = await simCode('wangwu');
    const response = await callback(`code=${code}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/#/customers?tab=notes');
    const session = response.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
    expect(session).toContain('HttpOnly');
    expect(session).toContain('SameSite=Lax');
    expect(session).toContain('Path=/');
    expect(session).not.toContain('Secure'); // plain-http localhost only
    const me = await exports.default.fetch(`${origin}/api/me`, { headers: { cookie: `sid=${cookieValue(response, 'sid')}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { userid: 'wangwu', name: '王五', roles: ['sales'] } });
  });

  it('refuses a forged state whose cookie does not match', async () => {
    const { state } = await startLogin();
    const code = await simCode('wangwu');
    const response = await callback(`code=${code}&state=${state}`, `oauth_state=${'f'.repeat(48)}`);
    expect(response.status).toBe(400);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    expect(await getUserInfoCalls()).toBe(0);
  });

  it('refuses a missing state and a state the server never issued', async () => {
    const code = await simCode('wangwu');
    expect((await callback(`code=${code}`, '')).status).toBe(400);
    const invented = 'a'.repeat(48);
    expect((await callback(`code=${code}&state=${invented}`, `oauth_state=${invented}`)).status).toBe(400);
  });

  it('refuses an expired state', async () => {
    const context = { returnTo: '/', corpId: env.WECOM_CORP_ID!, agentId: env.WECOM_AGENT_ID! };
    const { state, cookie } = await issueLoginState(env.SESSION_SECRET!, context, Date.now() - (LOGIN_STATE_SECONDS + 1) * 1000);
    const response = await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${cookie}`);
    expect(response.status).toBe(400);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    expect(await getUserInfoCalls()).toBe(0);
  });

  it('refuses a tampered state', async () => {
    const { state, stateCookie } = await startLogin();
    const response = await callback(`code=${await simCode('wangwu')}&state=${flipLast(state)}`, `oauth_state=${stateCookie}`);
    expect(response.status).toBe(400);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    expect(await getUserInfoCalls()).toBe(0);
  });

  it('refuses a login finished in another browser than the one that started it', async () => {
    const started = await startLogin('/#/a');
    const other = await startLogin('/#/b');
    const code = await simCode('wangwu');
    for (const cookie of [`oauth_state=${other.stateCookie}`, '']) {
      const response = await callback(`code=${code}&state=${started.state}`, cookie);
      expect(response.status).toBe(400);
      expect(cookieValue(response, 'sid')).toBeUndefined();
    }
    expect(await getUserInfoCalls()).toBe(0);
  });

  it('refuses a reused state from another browser, and never exchanges a second code for it', async () => {
    const { state, stateCookie } = await startLogin();
    expect((await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${stateCookie}`)).status).toBe(302);
    const again = await callback(`code=${await simCode('zhaoliu')}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(again.status).toBe(400);
    expect(cookieValue(again, 'sid')).toBeUndefined();
    expect(await getUserInfoCalls()).toBe(1);
  });

  it('answers a repeated callback from the browser it logged in (a prefetch) without spending the code again', async () => {
    const { state, stateCookie } = await startLogin('/#/x');
    const code = await simCode('wangwu');
    const first = await callback(`code=${code}&state=${state}`, `oauth_state=${stateCookie}`);
    const sid = cookieValue(first, 'sid');
    const second = await callback(`code=${code}&state=${state}`, `oauth_state=${stateCookie}; sid=${sid}`);
    expect(second.status).toBe(302);
    expect(second.headers.get('location')).toBe('/#/x');
    expect(await getUserInfoCalls()).toBe(1);
  });

  it('shows a clear error and no session for a code that was already used', async () => {
    const code = await simCode('wangwu');
    const first = await startLogin();
    expect((await callback(`code=${code}&state=${first.state}`, `oauth_state=${first.stateCookie}`)).status).toBe(302);
    const second = await startLogin();
    const response = await callback(`code=${code}&state=${second.state}`, `oauth_state=${second.stateCookie}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('授权码无效');
    expect(cookieValue(response, 'sid')).toBeUndefined();
  });

  it('refuses a visitor who is not a corp member', async () => {
    const { state, stateCookie } = await startLogin();
    const { code } = (await sim('oauth/code', { visitor: true, agentid: env.WECOM_AGENT_ID })) as { code: string };
    const result = await callback(`code=${code}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(result.status).toBe(403);
    expect(await result.text()).toContain('Members only');
    expect(cookieValue(result, 'sid')).toBeUndefined();
  });

  it.each([
    ['https://evil.example.com/steal', '/'],
    ['//evil.example.com', '/'],
    ['/\\evil.example.com', '/'],
    ['\\\\evil.example.com', '/'],
    ['/%0d%0aLocation:%20https://evil.example.com', '/%0d%0aLocation:%20https://evil.example.com'],
    ['javascript:alert(1)', '/'],
    ['/.//evil.example/x', '/'],
    ['/..//evil.example/x', '/'],
    ['/%2e%2e//evil.example/x', '/'],
    ['/a/..//evil.example/x', '/'],
    ['/a/../b', '/b'],
  ])('never redirects off-site after login for return=%s', async (target, expected) => {
    const { state, stateCookie } = await startLogin(target);
    const response = await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(expected);
    expect(new URL(response.headers.get('location')!, origin).origin).toBe(origin);
  });
});

describe('members WeCom does not list', () => {
  beforeEach(resetIdentity);

  async function logInAs(userid: string): Promise<Response> {
    const { state, stateCookie } = await startLogin();
    return callback(`code=${await simCode(userid)}&state=${state}`, `oauth_state=${stateCookie}`);
  }

  async function userRow(userid: string) {
    return env.DB.prepare('SELECT status FROM users WHERE corp_id = ?1 AND wecom_userid = ?2').bind(env.WECOM_CORP_ID, userid).first<{ status: string }>();
  }

  it("refuses a member outside the app's visible range, naming the console setting", async () => {
    const response = await logInAs('zhouba'); // finance: WeCom authenticates them, user/get answers 60011
    expect(response.status).toBe(403);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    const page = await response.text();
    expect(page).toContain('可见范围');
    expect(page).toContain('visible range');
    expect(await userRow('zhouba')).toBeNull();
  });

  it('refuses a member WeCom reports disabled, and tells the admin to re-enable them', async () => {
    const { state, stateCookie } = await startLogin();
    const code = await simCode('wangwu');
    await sim('members/wangwu', { status: 2 }); // disabled after the code was issued
    const response = await callback(`code=${code}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(response.status).toBe(403);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    expect(await response.text()).toContain('re-enable');
    expect(await userRow('wangwu')).toBeNull();
  });

  it('refuses a member WeCom no longer finds (60111)', async () => {
    await sim('faults', { path: '/cgi-bin/user/get', errcode: 60111 });
    const response = await logInAs('wangwu');
    expect(response.status).toBe(403);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    expect(await userRow('wangwu')).toBeNull();
  });

  it('gives no session when the member lookup fails, and says to try again', async () => {
    await sim('faults', { path: '/cgi-bin/user/get', status: 502, times: 5 });
    const response = await logInAs('wangwu');
    expect(response.status).toBe(502);
    expect(cookieValue(response, 'sid')).toBeUndefined();
    const page = await response.text();
    expect(page).toContain('wecom_http_status');
    expect(page).toContain('/auth/login');
    expect(await userRow('wangwu')).toBeNull();
  });

  it('never reactivates an account deactivated here; the next org sync does, keeping its roles', async () => {
    const admin = await login('zhangsan');
    await login('lisi');
    await setRole('lisi', 'manager');
    const createTime = Math.floor(Date.now() / 1000);
    const deleted = await postCallback(
      eventXml({ ToUserName: env.WECOM_CORP_ID!, FromUserName: 'sys', CreateTime: createTime, MsgType: 'event', Event: 'change_contact', ChangeType: 'delete_user', UserID: 'lisi' }),
    );
    expect(deleted.status).toBe(200);
    await waitFor(async () => ((await userRow('lisi'))?.status === 'inactive' ? true : undefined));

    // WeCom still lists lisi as active, but a login is not the place to bring the account back.
    const refused = await logInAs('lisi');
    expect(refused.status).toBe(403);
    expect(cookieValue(refused, 'sid')).toBeUndefined();
    expect(await refused.text()).toContain('Account deactivated');
    expect((await userRow('lisi'))?.status).toBe('inactive');

    const started = await api('/api/admin/org-sync', admin, { method: 'POST' });
    expect(started.status).toBe(202);
    await waitFor(async () => ((await userRow('lisi'))?.status === 'active' ? true : undefined));
    const again = await logInAs('lisi');
    expect(again.status).toBe(302);
    const me = await exports.default.fetch(`${origin}/api/me`, { headers: { cookie: `sid=${cookieValue(again, 'sid')}` } });
    expect(await me.json()).toMatchObject({ user: { userid: 'lisi', roles: ['manager'] } });
  });
});

describe('login state without storage', () => {
  beforeEach(resetIdentity);

  it('writes nothing to KV for anonymous logins, in WeCom or in a browser', async () => {
    const before = await kvKeys();
    for (let i = 0; i < 3; i++) {
      await startLogin('/#/contact');
      await startLogin('/', 'Mozilla/5.0 (iPhone) wxwork/3.1.9 MicroMessenger/7.0.1');
    }
    expect(await kvKeys()).toEqual(before);
  });

  it('writes nothing to KV for callbacks that authenticate no member', async () => {
    const { state, stateCookie } = await startLogin();
    const before = await kvKeys();
    expect((await callback(`code=${await simCode('wangwu')}&state=${flipLast(state)}`, `oauth_state=${stateCookie}`)).status).toBe(400);
    const visitor = (await sim('oauth/code', { visitor: true, agentid: env.WECOM_AGENT_ID })) as { code: string };
    expect((await callback(`code=${visitor.code}&state=${state}`, `oauth_state=${stateCookie}`)).status).toBe(403);
    expect(await kvKeys()).toEqual(before);
  });
});

describe('safeReturnPath', () => {
  it.each([
    [undefined, '/'],
    ['/', '/'],
    ['/#/contact/wm1', '/#/contact/wm1'],
    ['/a?b=c', '/a?b=c'],
    ['https://evil.example.com', '/'],
    ['//evil.example.com/x', '/'],
    ['/\\evil.example.com', '/'],
    ['/\tevil', '/'],
    ['relative', '/'],
    ['/.//evil.example/x', '/'],
    ['/..//evil.example/x', '/'],
    ['/%2e%2e//evil.example/x', '/'],
    ['/%2E%2E//evil.example/x', '/'],
    ['/a/..//evil.example/x', '/'],
    ['/a/b/../..//evil.example/x', '/'],
    ['/%2e//evil.example/x', '/'],
    ['/a/../b?c=//d#//e', '/b?c=//d#//e'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  ])('keeps %s as %s', (input, expected) => {
    expect(safeReturnPath(input)).toBe(expected);
  });
});

describe('SESSION_SECRET', () => {
  beforeEach(resetIdentity);

  it('ends every session when it is rotated', async () => {
    const { state, stateCookie } = await startLogin();
    const done = await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${stateCookie}`);
    const cookie = `sid=${cookieValue(done, 'sid')}`;
    expect((await exports.default.fetch(`${origin}/api/me`, { headers: { cookie } })).status).toBe(200);
    const rotated = { ...env, SESSION_SECRET: 'a-new-session-secret-after-rotation-000001' };
    const response = await createApp().request(`${origin}/api/me`, { headers: { cookie } }, rotated, createExecutionContext());
    expect(response.status).toBe(401);
  });
});

describe('POST /auth/logout', () => {
  beforeEach(resetIdentity);

  it('revokes the session', async () => {
    const { state, stateCookie } = await startLogin();
    const done = await callback(`code=${await simCode('zhaoliu')}&state=${state}`, `oauth_state=${stateCookie}`);
    const cookie = `sid=${cookieValue(done, 'sid')}`;
    expect((await exports.default.fetch(`${origin}/api/me`, { headers: { cookie } })).status).toBe(200);
    const out = await exports.default.fetch(`${origin}/auth/logout`, { method: 'POST', headers: { cookie, origin } });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().find((c) => c.startsWith('sid='))).toContain('Max-Age=0');
    const me = await exports.default.fetch(`${origin}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(401);
    expect(await me.json()).toMatchObject({ error: 'unauthenticated' });
  });
});
