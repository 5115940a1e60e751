import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { safeReturnPath } from '../../worker/identity/oauth.ts';
import { callback, cookieValue, origin, resetIdentity, sim, simCode, simulator, startLogin } from './identity-helpers.ts';

async function getUserInfoCalls(): Promise<number> {
  const calls = (await (await simulator('/__sim/calls')).json()) as Record<string, number>;
  return calls['/cgi-bin/auth/getuserinfo'] ?? 0;
}

describe('GET /auth/login', () => {
  beforeEach(resetIdentity);

  it('sends the WeCom app to the in-app authorize URL with every parameter', async () => {
    const { location, state, stateCookie } = await startLogin('/#/contact', 'Mozilla/5.0 (iPhone) wxwork/3.1.9 MicroMessenger/7.0.1');
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${sim}/connect/oauth2/authorize`);
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
    expect(stateCookie).toBe(state);
  });

  it('sends a desktop browser to WeCom web login', async () => {
    const { location, state } = await startLogin('/');
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${sim}/wwlogin/sso/login`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      login_type: 'CorpApp',
      appid: env.WECOM_CORP_ID,
      agentid: env.WECOM_AGENT_ID,
      redirect_uri: `${origin}/auth/callback`,
      state,
    });
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
    const { state, stateCookie } = await startLogin();
    await env.KV.delete(`oauth-state:${state}`); // what KV's expiry does after 10 minutes
    const response = await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(response.status).toBe(400);
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
    const response = await simulator('/__sim/oauth/code', { visitor: true, agentid: env.WECOM_AGENT_ID });
    const { code } = (await response.json()) as { code: string };
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
  ])('never redirects off-site after login for return=%s', async (target, expected) => {
    const { state, stateCookie } = await startLogin(target);
    const response = await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(expected);
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
