/**
 * @module
 * The OAuth and web-login stand-ins, code exchange and user tickets (docs/wecom.md §4).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, demoCorp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

interface WeComBody {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

let sim: RunningSimulator;
let token: string;

const FROZEN = () => Date.UTC(2025, 0, 6, 9, 0, 0);
const CALLBACK = 'http://127.0.0.1:8787/auth/callback?next=%2Fcontacts%3Ftab%3D1';

async function wecomGet(path: string): Promise<WeComBody> {
  return (await (await fetch(`${sim.url}${path}`)).json()) as WeComBody;
}

async function wecomPost(path: string, body: unknown): Promise<WeComBody> {
  return (await (await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) })).json()) as WeComBody;
}

async function control(path: string, body: unknown = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
}

async function codeFor(body: Record<string, unknown>): Promise<string> {
  const response = await control('/__sim/oauth/code', body);
  expect(response.status).toBe(200);
  return ((await response.json()) as { code: string }).code;
}

const exchange = (code: string, accessToken = token) => wecomGet(`/cgi-bin/auth/getuserinfo?access_token=${accessToken}&code=${encodeURIComponent(code)}`);

function authorizeUrl(overrides: Record<string, string | undefined> = {}): string {
  const params: Record<string, string | undefined> = {
    appid: demoIds.corpId,
    redirect_uri: CALLBACK,
    response_type: 'code',
    scope: 'snsapi_base',
    state: 'Xy9state42',
    agentid: String(demoIds.agentId),
    ...overrides,
  };
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, value);
  return `${sim.url}/connect/oauth2/authorize?${query.toString()}`;
}

/** The pick link the page offers for this data attribute (`data-userid="lisi"`). */
function pickLink(html: string, attribute: string): string {
  const match = new RegExp(`<a class="pick" ${attribute} href="([^"]+)"`).exec(html);
  if (!match?.[1]) throw new Error(`no pick link for ${attribute}`);
  return `${sim.url}${match[1].replace(/&amp;/g, '&')}`;
}

beforeAll(async () => {
  sim = await startSimulator({ simulator: { now: FROZEN } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await control('/__sim/reset', { forgetTokens: true });
  const body = await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
  token = String(body.access_token);
});

describe('GET /connect/oauth2/authorize', () => {
  it('lists every demo member and the visitors, in Chinese', async () => {
    const response = await fetch(authorizeUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    for (const member of demoCorp.members) {
      expect(html).toContain(`data-userid="${member.userid}"`);
      expect(html).toContain(member.name);
    }
    expect(html).toContain('非企业成员');
    expect(html).toContain(`data-openid="${demoIds.visitors.anonymous}"`);
  });

  it('redirects a pick to redirect_uri with a fresh code and the state intact', async () => {
    const html = await (await fetch(authorizeUrl())).text();
    const response = await fetch(pickLink(html, 'data-userid="lisi"'), { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:8787/auth/callback');
    expect(location.searchParams.get('next')).toBe('/contacts?tab=1');
    expect(location.searchParams.get('state')).toBe('Xy9state42');
    const code = location.searchParams.get('code') ?? '';
    expect(code).not.toBe('');
    expect(await exchange(code)).toEqual({ errcode: 0, errmsg: 'ok', userid: 'lisi' });
  });

  it.each([
    ['an unknown appid', { appid: 'wwnosuchcorp0001' }, 40013],
    ['an agentid that is not an app of the corp', { agentid: '1000999' }, 40056],
    ['a missing redirect_uri', { redirect_uri: undefined }, 50001],
    ['a state outside [a-zA-Z0-9]', { state: 'has-dash' }, 84025],
    ['snsapi_privateinfo without agentid', { scope: 'snsapi_privateinfo', agentid: undefined }, 41011],
    ['an unknown scope', { scope: 'snsapi_userinfo' }, 40058],
    ['a response_type other than code', { response_type: 'token' }, 40058],
  ])('shows an error page with the code for %s', async (_name, overrides, errcode) => {
    const response = await fetch(authorizeUrl(overrides));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(`data-errcode="${errcode}"`);
  });

  it('refuses a redirect_uri outside the trusted domains once they are set (50001)', async () => {
    await control('/__sim/mode', { trustedDomains: ['sidebar.example.com'] });
    expect(await (await fetch(authorizeUrl())).text()).toContain('data-errcode="50001"');
    await control('/__sim/mode', { trustedDomains: ['127.0.0.1:8787'] });
    expect((await fetch(authorizeUrl())).status).toBe(200);
  });

  it('lets a member outside the visible range log in with snsapi_base, but not consent to snsapi_privateinfo', async () => {
    const base = await (await fetch(authorizeUrl())).text();
    const response = await fetch(pickLink(base, `data-userid="${demoIds.outsideVisibleRange}"`), { redirect: 'manual' });
    const code = new URL(response.headers.get('location') ?? '').searchParams.get('code') ?? '';
    expect(await exchange(code)).toMatchObject({ errcode: 0, userid: demoIds.outsideVisibleRange });

    const privateinfo = await (await fetch(authorizeUrl({ scope: 'snsapi_privateinfo' }))).text();
    expect(privateinfo).not.toContain(`<a class="pick" data-userid="${demoIds.outsideVisibleRange}"`);
    expect(privateinfo).toContain(`<div class="off" data-userid="${demoIds.outsideVisibleRange}"`);
  });

  it('gives a visitor who is not a member an openid, and the external_userid of a customer', async () => {
    const html = await (await fetch(authorizeUrl())).text();
    const customer = await fetch(pickLink(html, `data-openid="${demoIds.visitors.customer}"`), { redirect: 'manual' });
    const customerCode = new URL(customer.headers.get('location') ?? '').searchParams.get('code') ?? '';
    expect(await exchange(customerCode)).toEqual({
      errcode: 0,
      errmsg: 'ok',
      openid: demoIds.visitors.customer,
      external_userid: demoIds.externalUserIds.followedByTwo,
    });

    const anonymousCode = await codeFor({ openid: demoIds.visitors.anonymous });
    expect(await exchange(anonymousCode)).toEqual({ errcode: 0, errmsg: 'ok', openid: demoIds.visitors.anonymous });
    // `visitor: true` is the shorthand for that anonymous visitor.
    expect(await exchange(await codeFor({ visitor: true }))).toEqual({ errcode: 0, errmsg: 'ok', openid: demoIds.visitors.anonymous });
  });
});

describe('GET /wwlogin/sso/login', () => {
  const loginUrl = (overrides: Record<string, string> = {}) =>
    `${sim.url}/wwlogin/sso/login?${new URLSearchParams({
      login_type: 'CorpApp',
      appid: demoIds.corpId,
      agentid: String(demoIds.agentId),
      redirect_uri: 'http://127.0.0.1:8787/auth/web',
      state: 'any/state with spaces+plus',
      ...overrides,
    }).toString()}`;

  it('logs a member in with a code that yields the userid and never a user_ticket', async () => {
    const html = await (await fetch(loginUrl())).text();
    const response = await fetch(pickLink(html, 'data-userid="zhangsan"'), { redirect: 'manual' });
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('any/state with spaces+plus');
    expect(await exchange(location.searchParams.get('code') ?? '')).toEqual({ errcode: 0, errmsg: 'ok', userid: 'zhangsan' });
  });

  it('needs login_type CorpApp and a valid agentid', async () => {
    expect(await (await fetch(loginUrl({ login_type: 'ServiceApp' }))).text()).toContain('data-errcode="40058"');
    expect(await (await fetch(loginUrl({ agentid: '' }))).text()).toContain('data-errcode="41011"');
    expect(await (await fetch(loginUrl({ agentid: '42' }))).text()).toContain('data-errcode="40056"');
  });
});

describe('auth/getuserinfo', () => {
  it('accepts a code once: the second exchange answers 40029', async () => {
    const code = await codeFor({ userid: 'wangwu' });
    expect((await exchange(code)).userid).toBe('wangwu');
    expect((await exchange(code)).errcode).toBe(40029);
  });

  it('lets a code expire 5 minutes after it was issued (40029)', async () => {
    const early = await codeFor({ userid: 'wangwu' });
    const late = await codeFor({ userid: 'wangwu' });
    await control('/__sim/clock', { advanceSeconds: 299 });
    expect((await exchange(early)).errcode).toBe(0);
    await control('/__sim/clock', { advanceSeconds: 1 });
    expect((await exchange(late)).errcode).toBe(40029);
  });

  it('answers 40029 for a code it never issued and 41008 for none', async () => {
    expect((await exchange('made-up-code')).errcode).toBe(40029);
    expect((await wecomGet(`/cgi-bin/auth/getuserinfo?access_token=${token}`)).errcode).toBe(41008);
  });

  it('refuses to let the contact-sync token consume a code (50001)', async () => {
    const sync = await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoCorp.contactSyncSecret}`);
    const code = await codeFor({ userid: 'wangwu' });
    expect((await exchange(code, String(sync.access_token))).errcode).toBe(50001);
    expect((await exchange(code)).errcode).toBe(0);
  });

  it('adds a user_ticket only for snsapi_privateinfo', async () => {
    const base = await exchange(await codeFor({ userid: 'lisi' }));
    expect(base).not.toHaveProperty('user_ticket');
    const privateinfo = await exchange(await codeFor({ userid: 'lisi', scope: 'snsapi_privateinfo' }));
    expect(typeof privateinfo.user_ticket).toBe('string');
  });
});

describe('auth/getuserdetail', () => {
  it('returns the sensitive fields for a user_ticket, which lasts 1800 s (then 84014)', async () => {
    const info = await exchange(await codeFor({ userid: 'lisi', scope: 'snsapi_privateinfo' }));
    const ticket = String(info.user_ticket);
    const detail = await wecomPost(`/cgi-bin/auth/getuserdetail?access_token=${token}`, { user_ticket: ticket });
    expect(detail).toMatchObject({ errcode: 0, userid: 'lisi', mobile: '13800000002', gender: '2', email: 'lisi@demo.example' });

    await control('/__sim/clock', { advanceSeconds: 1800 });
    const refreshed = await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
    const expired = await wecomPost(`/cgi-bin/auth/getuserdetail?access_token=${String(refreshed.access_token)}`, { user_ticket: ticket });
    expect(expired.errcode).toBe(84014);
  });

  it('answers 84015 for a ticket it never issued and 84090 for none', async () => {
    expect((await wecomPost(`/cgi-bin/auth/getuserdetail?access_token=${token}`, { user_ticket: 'forged' })).errcode).toBe(84015);
    expect((await wecomPost(`/cgi-bin/auth/getuserdetail?access_token=${token}`, {})).errcode).toBe(84090);
  });
});
