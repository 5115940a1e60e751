/**
 * @module
 * `GET /api/admin/diagnostics` against the simulator switched into each failure an admin meets
 * when setting up a real corp, and the checks themselves where a route cannot reach the case.
 */
import { createExecutionContext, env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { checkConfiguration, checkOrigin, sessionSecretWeakness } from '../../worker/diagnostics/config-checks.ts';
import { checkAccessToken } from '../../worker/diagnostics/wecom-checks.ts';
import { CALLBACK_VERIFIED_KEY } from '../../worker/events/verification.ts';
import type { CheckId, CheckResult, DiagnosticsReport } from '../../worker/wire.ts';
import type { Env } from '../../worker/bindings.ts';
import { DEFAULT_API_BASE, readConfig, type WeComApp } from '../../worker/env.ts';
import { sealVerification } from '../../worker/wecom/envelope.ts';
import { brokerName, ticketsKvKey, tokenKvKey } from '../../worker/wecom/leases.ts';
import { forgetCachedTokens } from '../../worker/wecom/tokens.ts';
import { callbackPath, demoKeys, waitFor } from './callback-helpers.ts';
import { api, login, origin, resetIdentity, setRole } from './identity-helpers.ts';
import { sim, simBase } from './simulator-control.ts';

const corpId = env.WECOM_CORP_ID ?? '';
const agentId = env.WECOM_AGENT_ID ?? '';
const callbackUrl = `${origin}/wecom/callback/${corpId}/${agentId}`;

const ALL: CheckId[] = ['config', 'access_token', 'jssdk_tickets', 'customer_contact', 'visible_range', 'callback', 'origin'];

async function simMode(mode: { untrustedIp?: boolean; noContactPermission?: boolean; emptyVisibleRange?: boolean }): Promise<void> {
  await sim('mode', mode);
}

async function resetSimulator(): Promise<void> {
  await sim('reset', {});
  await simMode({ untrustedIp: false, noContactPermission: false, emptyVisibleRange: false });
}

async function simCalls(): Promise<Record<string, number>> {
  return (await sim('calls')) as Record<string, number>;
}

function demoApp(): WeComApp {
  const result = readConfig(env);
  if (!result.ok || !result.config.apps[0]) throw new Error('the demo configuration is incomplete');
  return result.config.apps[0];
}

interface Call {
  /** Overrides for this request's env (the token broker keeps reading its own). */
  env?: Partial<Env>;
  headers?: Record<string, string>;
  query?: string;
}

async function diagnose(cookie: string, call: Call = {}): Promise<{ status: number; body: DiagnosticsReport }> {
  const path = `/api/admin/diagnostics${call.query ? `?${call.query}` : ''}`;
  const init: RequestInit = { headers: { ...call.headers, cookie } };
  const response = call.env
    ? await createApp().request(`${origin}${path}`, init, { ...env, ...call.env }, createExecutionContext())
    : await api(path, cookie, init);
  return { status: response.status, body: (await response.json()) as DiagnosticsReport };
}

async function report(cookie: string, call: Call = {}): Promise<DiagnosticsReport> {
  const { status, body } = await diagnose(cookie, call);
  expect(status, JSON.stringify(body)).toBe(200);
  expect(body.checks.map((check) => check.id)).toEqual(ALL);
  return body;
}

function check(body: DiagnosticsReport, id: CheckId): CheckResult {
  const found = body.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} check`);
  return found;
}

function expectFailing(result: CheckResult, errcode?: number): void {
  expect(result.status, result.message).toBe('fail');
  expect(result.errcode).toBe(errcode);
  expect(result.fix?.en).toBeTruthy();
  expect(result.fix?.zh).toBeTruthy();
  expect(result.messageZh).not.toBe(result.message);
}

/** WeCom saving the callback URL: a signed GET whose echo the worker must decrypt. */
async function verifyCallbackUrl(): Promise<void> {
  const query = await sealVerification(demoKeys, '5817263940', String(Math.floor(Date.now() / 1000)), 'diag1');
  const response = await exports.default.fetch(`${origin}${callbackPath}?${query}`);
  expect(await response.text()).toBe('5817263940');
  // The time is recorded after the answer (waitUntil), so WeCom's 1 s budget is not spent on KV.
  await waitFor(async () => ((await env.KV.get(CALLBACK_VERIFIED_KEY(corpId, agentId))) === null ? undefined : true));
}

/** No token or ticket anywhere: the broker must fetch. */
async function startCold(): Promise<void> {
  const app = demoApp();
  forgetCachedTokens();
  await env.KV.delete(tokenKvKey(app));
  await env.KV.delete(ticketsKvKey(app));
  await runInDurableObject(env.TOKEN_BROKER.getByName(brokerName(app)), (_instance, state) => state.storage.deleteAll());
}

describe('GET /api/admin/diagnostics', () => {
  let admin: string;

  beforeEach(async () => {
    await resetIdentity();
    await resetSimulator();
    await env.KV.delete(CALLBACK_VERIFIED_KEY(corpId, agentId));
    await env.DB.prepare('DELETE FROM events WHERE corp_id = ?1 AND agent_id = ?2').bind(corpId, agentId).run();
    // Logged in before any failure mode: signing in itself goes through WeCom.
    admin = await login('zhangsan');
  });
  afterEach(resetSimulator);

  it('passes every check on a healthy deployment, and prints no secret', async () => {
    await verifyCallbackUrl();
    const { status, body } = await diagnose(admin);
    expect(status).toBe(200);
    for (const result of body.checks) {
      expect(result, result.id).toMatchObject({ status: 'pass', fix: null });
      expect(result.message).not.toBe('');
      expect(result.messageZh).not.toBe('');
    }
    expect(body).toMatchObject({ app: { corpId, agentId }, origin, ok: true, summary: { pass: 7, warn: 0, fail: 0 } });
    expect(Math.abs(body.checkedAt - Date.now())).toBeLessThan(60_000);
    const text = JSON.stringify(body);
    for (const secret of [env.WECOM_SECRET, env.SESSION_SECRET, env.WECOM_ENCODING_AES_KEY, env.WECOM_CALLBACK_TOKEN]) expect(text).not.toContain(secret);
    const ticketsLease = await env.KV.get(ticketsKvKey(demoApp()), 'json');
    for (const value of Object.values(ticketsLease as Record<string, { value: string }>)) expect(text).not.toContain(value.value);
  });

  it('refuses members without the admin role, and anonymous callers', async () => {
    const sales = await login('wangwu');
    const refused = await diagnose(sales);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'forbidden' });
    await setRole('wangwu', 'manager');
    expect((await diagnose(sales)).status).toBe(403);
    const anonymous = await exports.default.fetch(`${origin}/api/admin/diagnostics`);
    expect(anonymous.status).toBe(401);
  });

  describe('configuration', () => {
    it('warns about a session secret that is long enough but low in variety', () => {
      // Checked directly: session keys derive from SESSION_SECRET, so a request under another secret has no session.
      const result = checkConfiguration(readConfig({ ...env, SESSION_SECRET: 'ab'.repeat(20) }));
      expect(result.status).toBe('warn');
      expect(result.message).toContain('SESSION_SECRET has low variety (2 different characters)');
      expect(result.fix?.en).toContain('openssl rand');
    });

    it('fails on an incomplete or malformed configuration, naming each problem', () => {
      const result = checkConfiguration(readConfig({ ...env, WECOM_CORP_ID: 'corp-1', WECOM_ENCODING_AES_KEY: 'x'.repeat(42) }));
      expectFailing(result);
      expect(result.message).toContain('WECOM_CORP_ID must look like a WeCom corp id');
      expect(result.message).toContain('WECOM_ENCODING_AES_KEY must be exactly 43 letters or digits (got 42 characters)');
    });

    it('warns when a remote proxy is reached over http without a proxy token', () => {
      const result = checkConfiguration(readConfig({ ...env, WECOM_API_BASE: 'http://egress.example.com/wecom' }));
      expect(result.status).toBe('warn');
      expect(result.message).toContain('WECOM_API_BASE uses plain http');
      expect(result.message).toContain('WECOM_API_PROXY_TOKEN is not set');
    });

    it('judges session secrets by length and variety', () => {
      expect(sessionSecretWeakness('a'.repeat(31))?.en).toContain('short');
      expect(sessionSecretWeakness('0123456'.repeat(6))?.en).toContain('low variety (7 different characters)');
      // Ten characters, but 32 of them carry only about 106 bits.
      expect(sessionSecretWeakness(`${'abcdefghij'.repeat(3)}ab`)?.en).toContain('low variety');
      expect(sessionSecretWeakness('3f9a1c0b7e5d2468a0c9e1f3b5d7092e')).toBeUndefined();
      expect(sessionSecretWeakness(env.SESSION_SECRET ?? '')).toBeUndefined();
    });
  });

  describe('gettoken', () => {
    it('names a wrong secret (40001) and does not run the checks that need a token', async () => {
      const body = await report(admin, { env: { WECOM_SECRET: 'wrong-secret-000000' } });
      const result = check(body, 'access_token');
      expectFailing(result, 40001);
      expect(result.message).toContain('WeCom refused the app Secret');
      expect(result.fix?.en).toContain('WECOM_SECRET');
      for (const id of ['jssdk_tickets', 'customer_contact', 'visible_range'] as const) {
        expect(check(body, id)).toMatchObject({ status: 'warn', blockedBy: 'access_token' });
      }
      expect(body.ok).toBe(false);
      expect((await simCalls())['/cgi-bin/gettoken']).toBe(1);
    });

    it('names a wrong corp id (40013)', async () => {
      const { result } = await checkAccessToken({ base: simBase, app: { ...demoApp(), corpId: 'wwwrongcorp00001' }, retryDelaysMs: [] });
      expectFailing(result, 40013);
      expect(result.message).toBe('WeCom does not know the corp id wwwrongcorp00001 (40013).');
      expect(result.fix?.zh).toContain('我的企业 → 企业信息 → 企业ID');
    });

    it('names the egress IP WeCom does not trust (60020)', async () => {
      await simMode({ untrustedIp: true });
      const body = await report(admin);
      const result = check(body, 'access_token');
      expectFailing(result, 60020);
      expect(result.message).toContain('WeCom refuses calls from 127.0.0.1');
      expect(result.details).toMatchObject({ egressIp: '127.0.0.1' });
      expect(result.fix?.en).toContain('Add 127.0.0.1 under 应用管理 → this app → 企业可信IP');
      expect(check(body, 'customer_contact').blockedBy).toBe('access_token');
    });

    it('tells a worker calling WeCom directly that it needs the egress proxy', async () => {
      await simMode({ untrustedIp: true });
      // As deployed without a proxy: WECOM_API_BASE is WeCom itself (here answered by the simulator).
      const viaSimulator: typeof fetch = (input, init) => fetch(String(input instanceof Request ? input.url : input).replace(DEFAULT_API_BASE, simBase), init);
      const { result } = await checkAccessToken({ base: DEFAULT_API_BASE, app: demoApp(), fetch: viaSimulator, retryDelaysMs: [] });
      expectFailing(result, 60020);
      expect(result.fix?.en).toContain('This worker calls WeCom directly');
      expect(result.fix?.zh).toContain('出口代理');
    });

    it('passes through the egress proxy, and names a proxy that refuses the worker', async () => {
      const proxy = inject('egressProxyUrl');
      const good = await report(admin, { env: { WECOM_API_BASE: proxy, WECOM_API_PROXY_TOKEN: inject('egressProxyToken') } });
      expect(check(good, 'access_token')).toMatchObject({ status: 'pass', details: { viaProxy: true } });
      expect(check(good, 'customer_contact').status).toBe('pass');

      const refused = await report(admin, { env: { WECOM_API_BASE: proxy, WECOM_API_PROXY_TOKEN: 'not-the-proxy-token-000' } });
      const result = check(refused, 'access_token');
      expectFailing(result);
      expect(result.message).toContain('The egress proxy in WECOM_API_BASE refused the worker (HTTP 403)');
    });
  });

  describe('JS-SDK tickets', () => {
    it('answers from the broker cache, spending none of the hourly ticket limit', async () => {
      await report(admin);
      await sim('calls/reset', {});
      const body = await report(admin);
      expect(check(body, 'jssdk_tickets').status).toBe('pass');
      const calls = await simCalls();
      expect(calls['/cgi-bin/get_jsapi_ticket']).toBeUndefined();
      expect(calls['/cgi-bin/ticket/get']).toBeUndefined();
    });

    it('names a spent hourly limit (45009)', async () => {
      await startCold();
      await sim('faults', { path: 'get_jsapi_ticket', errcode: 45009 });
      const result = check(await report(admin), 'jssdk_tickets');
      expectFailing(result, 45009);
      expect(result.message).toContain('hourly limit');
    });
  });

  describe('customer contact and visible range', () => {
    it('names an app missing from 可调用接口的应用 (48002)', async () => {
      await simMode({ noContactPermission: true });
      const body = await report(admin);
      const result = check(body, 'customer_contact');
      expectFailing(result, 48002);
      expect(result.message).toContain('this app is not among the apps allowed to call it');
      expect(result.fix?.zh).toContain('客户联系 → 可调用接口的应用');
      // The directory still answers: the two findings stay apart.
      expect(check(body, 'visible_range').status).toBe('pass');
    });

    it('names an empty visible range', async () => {
      await simMode({ emptyVisibleRange: true });
      const body = await report(admin);
      const result = check(body, 'visible_range');
      expectFailing(result);
      expect(result.message).toContain("The app's visible range is empty");
      expect(result.details).toMatchObject({ departments: 0, followUsers: 0 });
      expect(result.fix?.zh).toContain('可见范围');
      expect(check(body, 'customer_contact')).toMatchObject({ status: 'pass', details: { followUsers: 0 } });
    });

    it('names departments outside the visible range (60011)', async () => {
      await sim('faults', { path: 'department/list', errcode: 60011 });
      const result = check(await report(admin), 'visible_range');
      expectFailing(result, 60011);
      expect(result.message).toContain('outside its visible range');
    });

    it('reports the members with 客户联系 it sees', async () => {
      const body = await report(admin);
      expect(check(body, 'visible_range').details).toMatchObject({ followUsers: expect.any(Number) });
      expect((check(body, 'visible_range').details?.departments as number) > 0).toBe(true);
    });
  });

  describe('callback', () => {
    it('warns when WeCom never verified the URL, with the URL to enter', async () => {
      const result = check(await report(admin), 'callback');
      expect(result.status).toBe('warn');
      expect(result.message).toContain(`Enter ${callbackUrl} as the callback URL`);
      expect(result.fix?.zh).toContain(`URL 填 ${callbackUrl}`);
      expect(result.details).toEqual({ verifiedAt: null, lastEventAt: null, callbackUrl });
    });

    it('reports the last verification and the last event', async () => {
      const before = Date.now();
      await verifyCallbackUrl();
      const verified = check(await report(admin), 'callback');
      expect(verified.status).toBe('pass');
      expect(verified.details?.verifiedAt as number).toBeGreaterThanOrEqual(before);
      expect(verified.details?.lastEventAt).toBeNull();
      expect(verified.message).toContain('no event has arrived yet');

      const receivedAt = Date.now() - 5_000;
      await env.DB.prepare("INSERT INTO events (corp_id, agent_id, dedupe_key, kind, payload, received_at) VALUES (?1, ?2, 'diag-test', 'test', '{}', ?3)")
        .bind(corpId, agentId, receivedAt)
        .run();
      const withEvent = check(await report(admin), 'callback');
      expect(withEvent.details?.lastEventAt).toBe(receivedAt);
      expect(withEvent.message).toContain(`the last event arrived at ${new Date(receivedAt).toISOString()}`);
    });

    it('passes on events alone, for a URL verified before the worker kept a record', async () => {
      await env.DB.prepare("INSERT INTO events (corp_id, agent_id, dedupe_key, kind, payload, received_at) VALUES (?1, ?2, 'diag-old', 'test', '{}', ?3)")
        .bind(corpId, agentId, Date.now())
        .run();
      const result = check(await report(admin), 'callback');
      expect(result.status).toBe('pass');
      expect(result.message).toContain('before this worker kept a record of it');
    });
  });

  describe('origin', () => {
    it("fails for a page origin the worker will not sign for", async () => {
      const body = await report(admin, { headers: { origin: 'https://elsewhere.example' } });
      expect(body.origin).toBe('https://elsewhere.example');
      const result = check(body, 'origin');
      expectFailing(result);
      expect(result.message).toContain('https://elsewhere.example is not an origin this worker signs for');
      expect(result.fix?.en).toContain('TRUSTED_ORIGINS');
    });

    it('passes for an origin listed in TRUSTED_ORIGINS, naming the trusted domain WeCom needs', async () => {
      const body = await report(admin, { env: { TRUSTED_ORIGINS: 'https://crm.example.com' }, query: 'origin=https://crm.example.com' });
      const result = check(body, 'origin');
      expect(result.status).toBe('pass');
      expect(result.message).toContain('listed in TRUSTED_ORIGINS');
      expect(result.details).toMatchObject({ trustedDomain: 'crm.example.com' });
    });

    it('judges anything that is not an origin as a failure, not a crash', () => {
      expectFailing(checkOrigin('not a url', origin, []));
      expectFailing(checkOrigin('https://crm.example.com.evil.example', origin, ['https://crm.example.com']));
    });
  });

  it('gives each failure its own message', async () => {
    const messages = new Set<string>();
    const scenarios: Array<() => Promise<CheckResult>> = [
      async () => check(await report(admin, { env: { WECOM_SECRET: 'wrong-secret-000000' } }), 'access_token'),
      async () => (await checkAccessToken({ base: simBase, app: { ...demoApp(), corpId: 'wwwrongcorp00001' }, retryDelaysMs: [] })).result,
      async () => {
        await simMode({ untrustedIp: true });
        return check(await report(admin), 'access_token');
      },
      async () => {
        await simMode({ untrustedIp: false, noContactPermission: true });
        return check(await report(admin), 'customer_contact');
      },
      async () => {
        await simMode({ noContactPermission: false, emptyVisibleRange: true });
        return check(await report(admin), 'visible_range');
      },
      async () => check(await report(admin, { headers: { origin: 'https://elsewhere.example' } }), 'origin'),
    ];
    for (const scenario of scenarios) {
      const result = await scenario();
      expect(result.status).toBe('fail');
      messages.add(result.message);
    }
    expect(messages.size).toBe(scenarios.length);
  });
});
