/**
 * The HTTP edge the worker puts in front of every route: cross-site writes, rate limits, headers.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { createBuiltinCrm } from '../../worker/crm/builtin.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { api, login, origin, resetIdentity } from './identity-helpers.ts';
import { calls, sim } from './simulator-control.ts';

const corpId = env.WECOM_CORP_ID!;
const { followedByTwo: CHEN_JING } = demoIds.externalUserIds;

interface ErrorBody {
  error: string;
}

async function noteCount(): Promise<number> {
  return (await env.DB.prepare('SELECT COUNT(*) AS n FROM crm_notes').first<{ n: number }>())?.n ?? -1;
}

async function seedCustomer(owner: string): Promise<string> {
  const customer = await createBuiltinCrm(env.DB).create({ company: '', name: '刘洋', ownerUserid: owner }, { corpId, actor: 'test', idempotencyKey: `http-${crypto.randomUUID()}` });
  return customer.id;
}

/** A request straight to the worker with exactly these headers (no helper adds an Origin). */
function raw(path: string, init: RequestInit): Promise<Response> {
  return exports.default.fetch(`${origin}${path}`, init);
}

describe('cross-site writes', () => {
  let cookie: string;
  let notes: string;

  beforeEach(async () => {
    await resetIdentity();
    await env.DB.batch(['crm_notes', 'crm_history', 'crm_idempotency', 'crm_customers'].map((table) => env.DB.prepare(`DELETE FROM ${table}`)));
    cookie = await login('wangwu');
    notes = `/api/customers/${await seedCustomer('wangwu')}/notes`;
  });

  it('refuses a text/plain note from another origin on the same site, and stores nothing', async () => {
    for (const other of ['http://127.0.0.1:9999', 'http://evil.127.0.0.1.nip.io']) {
      const response = await raw(notes, { method: 'POST', headers: { cookie, origin: other, 'content-type': 'text/plain' }, body: '{"body":"planted"}' });
      expect(response.status, other).toBe(403);
      expect((await response.json<ErrorBody>()).error).toBe('cross_origin_write');
    }
    const form = await raw(notes, { method: 'POST', headers: { cookie, origin: 'http://127.0.0.1:9999', 'content-type': 'application/x-www-form-urlencoded' }, body: 'body=planted' });
    expect((await form.json<ErrorBody>()).error).toBe('cross_origin_write');
    expect(await noteCount()).toBe(0);
  });

  it('judges Sec-Fetch-Site when there is no Origin, and refuses a write with neither', async () => {
    const json = { cookie, 'content-type': 'application/json' };
    const sameSite = await raw(notes, { method: 'POST', headers: { ...json, 'sec-fetch-site': 'same-site' }, body: '{"body":"planted"}' });
    expect(sameSite.status).toBe(403);
    expect((await sameSite.json<ErrorBody>()).error).toBe('cross_origin_write');
    const neither = await raw(notes, { method: 'POST', headers: json, body: '{"body":"planted"}' });
    expect(neither.status).toBe(403);
    expect((await neither.json<ErrorBody>()).error).toBe('cross_origin_write');
    expect(await noteCount()).toBe(0);

    const sameOrigin = await raw(notes, { method: 'POST', headers: { ...json, 'sec-fetch-site': 'same-origin' }, body: '{"body":"ok"}' });
    expect(sameOrigin.status).toBe(201);
    expect(await noteCount()).toBe(1);
  });

  it('takes a body from its own origin only as JSON', async () => {
    const plain = await raw(notes, { method: 'POST', headers: { cookie, origin, 'content-type': 'text/plain' }, body: '{"body":"plain"}' });
    expect(plain.status).toBe(415);
    expect((await plain.json<ErrorBody>()).error).toBe('json_required');
    expect(await noteCount()).toBe(0);
    const json = await raw(notes, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json; charset=utf-8' }, body: '{"body":"json"}' });
    expect(json.status).toBe(201);
  });

  it('refuses a cross-origin logout and signing request, and leaves the WeCom callback to its signature', async () => {
    const logout = await raw('/auth/logout', { method: 'POST', headers: { cookie, origin: 'http://127.0.0.1:9999' } });
    expect(logout.status).toBe(403);
    expect((await logout.json<ErrorBody>()).error).toBe('cross_origin_write');
    expect((await api('/api/me', cookie)).status).toBe(200);

    const signing = await raw('/api/jssdk/signatures', { method: 'POST', headers: { origin: 'http://127.0.0.1:9999', 'content-type': 'text/plain' }, body: JSON.stringify({ url: `${origin}/` }) });
    expect((await signing.json<ErrorBody>()).error).toBe('cross_origin_write');

    // WeCom posts XML from its servers, with no Origin: refused for its signature, not for its origin.
    const callback = await raw(`/wecom/callback/${corpId}/${env.WECOM_AGENT_ID}?msg_signature=x&timestamp=1&nonce=n`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<xml/>' });
    expect(callback.status).not.toBe(403);
  });
});

describe('rate limits', () => {
  // The product's bindings are raised for this pool (vitest.config.ts); TIGHT_LIMIT allows 3 a minute.
  const app = createApp();
  const send = (request: Request, override: Partial<Cloudflare.Env>) => Promise.resolve(app.request(request, undefined, { ...env, ...override }, createExecutionContext()));
  const randomIp = () => `198.51.100.${Math.floor(Math.random() * 250)}-${crypto.randomUUID()}`;

  async function expectLimited(response: Response) {
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('60');
    expect((await response.json<ErrorBody>()).error).toBe('rate_limited');
  }

  it('limits login starts per client IP', async () => {
    const [ip, other] = [randomIp(), randomIp()];
    const start = (from: string) => send(new Request(`${origin}/auth/login?return=/`, { headers: { 'cf-connecting-ip': from }, redirect: 'manual' }), { LOGIN_LIMIT: env.TIGHT_LIMIT });
    for (let i = 0; i < 3; i++) expect((await start(ip)).status).toBe(302);
    await expectLimited(await start(ip));
    expect((await start(other)).status).toBe(302);
  });

  it('limits signing per client IP', async () => {
    const [ip, other] = [randomIp(), randomIp()];
    const signing = (from: string) =>
      send(
        new Request(`${origin}/api/jssdk/signatures`, { method: 'POST', headers: { origin, 'content-type': 'application/json', 'cf-connecting-ip': from }, body: JSON.stringify({ url: `${origin}/` }) }),
        { SIGNING_LIMIT: env.TIGHT_LIMIT },
      );
    for (let i = 0; i < 3; i++) expect((await signing(ip)).status).toBe(200);
    await expectLimited(await signing(ip));
    expect((await signing(other)).status).toBe(200);
  });

  it('limits contact lookups per member, before WeCom is asked', async () => {
    await resetIdentity();
    const [wangwu, lisi] = [await login('wangwu'), await login('lisi')];
    const lookup = (cookie: string) => send(new Request(`${origin}/api/contacts/${CHEN_JING}`, { headers: { cookie, 'cf-connecting-ip': randomIp() } }), { CONTACT_LOOKUP_LIMIT: env.TIGHT_LIMIT });
    for (let i = 0; i < 3; i++) expect((await lookup(wangwu)).status).toBe(200);
    await sim('calls/reset', {});
    // A fresh session, even from another address, is the same member.
    await expectLimited(await lookup(await login('wangwu')));
    expect((await calls())('externalcontact/get')).toBe(0);
    expect((await lookup(lisi)).status).toBe(200);
  });
});

describe('response headers', () => {
  it('marks every /api answer no-store and nosniff, errors included', async () => {
    const cookie = await login('wangwu');
    for (const response of [await api('/api/me', cookie), await raw('/api/me', {}), await api('/api/nothing-here', cookie)]) {
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    }
  });

  it('sends HSTS on https, not on the plain-http local origin', async () => {
    expect((await raw('/healthz', {})).headers.get('strict-transport-security')).toBeNull();
    const secure = await exports.default.fetch('https://crm.example.com/healthz');
    expect(secure.headers.get('strict-transport-security')).toContain('max-age=31536000');
  });
});
