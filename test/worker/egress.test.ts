/**
 * @module
 * The worker's WeCom client through the fixed-IP egress proxy (deploy/egress-proxy/proxy.mjs),
 * which global-setup starts in front of the simulator under the `/wecom` prefix.
 */
import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { readConfig, type WeComApp } from '../../worker/env.ts';
import { createWeComClient, fetchAccessToken, type WeComTransportDeps } from '../../worker/wecom/client.ts';
import { WeComError, WeComTransportError } from '../../worker/wecom/errors.ts';
import { wecomClientFor } from '../../worker/wecom/tokens.ts';
import { localTokenSource } from './local-token-source.ts';
import { sim } from './simulator-control.ts';

const proxyBase = inject('egressProxyUrl');
const proxyToken = inject('egressProxyToken');

async function simPost(path: string, body: unknown = {}): Promise<void> {
  await sim(path, body);
}

async function simCalls(): Promise<Record<string, number>> {
  return (await sim('calls')) as Record<string, number>;
}

async function resetSimulator(): Promise<void> {
  await simPost('reset');
  await simPost('mode', { untrustedIp: false, noContactPermission: false, emptyVisibleRange: false });
}

function demoApp(): WeComApp {
  const result = readConfig(env);
  if (!result.ok || !result.config.apps[0]) throw new Error('the demo configuration is incomplete');
  return result.config.apps[0];
}

/** Through the proxy with its token, another token, or (null) none. */
function viaProxy(token: string | null = proxyToken): WeComTransportDeps {
  const deps: WeComTransportDeps = { base: proxyBase, app: demoApp(), retryDelaysMs: [] };
  if (token !== null) deps.proxyToken = token;
  return deps;
}

async function rejection(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => expect.unreachable('the call should have failed'),
    (error: unknown) => error,
  );
}

describe('WeCom calls through the egress proxy', () => {
  beforeEach(resetSimulator);
  afterEach(resetSimulator);

  it('keeps the path prefix and the token, so gettoken and API calls reach WeCom', async () => {
    expect(new URL(proxyBase).pathname).toBe('/wecom');
    const deps = viaProxy();
    const reply = await fetchAccessToken(deps);
    expect(reply.access_token).toMatch(/^[\w-]{20,}$/);

    const client = createWeComClient({ ...deps, tokens: localTokenSource(deps) });
    const followers = await client.getFollowUserList();
    expect(followers.follow_user).toContain(demoIds.admin);
    const member = await client.getUser(demoIds.admin);
    expect(member.userid).toBe(demoIds.admin);

    // The simulator saw WeCom's own paths: the proxy stripped its prefix and nothing else.
    const calls = await simCalls();
    expect(calls['/cgi-bin/gettoken']).toBeGreaterThanOrEqual(1);
    expect(calls['/cgi-bin/externalcontact/get_follow_user_list']).toBe(1);
    expect(calls['/cgi-bin/user/get']).toBe(1);
    expect(Object.keys(calls).every((path) => path.startsWith('/cgi-bin/'))).toBe(true);
  });

  it('is what WECOM_API_BASE and WECOM_API_PROXY_TOKEN configure for every route', async () => {
    const result = readConfig({ ...env, WECOM_API_BASE: proxyBase, WECOM_API_PROXY_TOKEN: proxyToken });
    if (!result.ok) throw new Error(result.problems.join('; '));
    expect(result.config.apiBase).toBe(proxyBase);
    expect(result.config.apiProxyToken).toBe(proxyToken);
    const app = result.config.apps[0]!;
    const client = wecomClientFor(env, result.config, app, { retryDelaysMs: [] });
    const departments = await client.listDepartments();
    expect(departments.department.length).toBeGreaterThan(0);
    expect((await simCalls())['/cgi-bin/department/list']).toBe(1);
  });

  it('refuses a request without the token with 403, and it never reaches WeCom', async () => {
    const app = demoApp();
    const query = new URLSearchParams({ corpid: app.corpId, corpsecret: app.secret });
    const bare = await fetch(`${proxyBase}/cgi-bin/gettoken?${query.toString()}`);
    expect(bare.status).toBe(403);
    expect(await bare.json()).toMatchObject({ error: 'forbidden' });
    const wrong = await fetch(`${proxyBase}/cgi-bin/gettoken?${query.toString()}`, { headers: { 'x-proxy-token': `${proxyToken}x` } });
    expect(wrong.status).toBe(403);
    expect(await simCalls()).toEqual({});
  });

  it('reports a proxy refusal as a transport error whose hint names WECOM_API_PROXY_TOKEN', async () => {
    for (const token of [null, 'not-the-proxy-token-000']) {
      const error = await rejection(fetchAccessToken(viaProxy(token)));
      expect(error).toBeInstanceOf(WeComTransportError);
      const failure = error as WeComTransportError;
      expect(failure.code).toBe('wecom_http_status');
      expect(failure.upstreamStatus).toBe(403);
      expect(failure.hint).toContain('WECOM_API_PROXY_TOKEN');
    }
    expect(await simCalls()).toEqual({});
  });

  it('forwards only /cgi-bin under its prefix', async () => {
    const headers = { 'x-proxy-token': proxyToken };
    const origin = new URL(proxyBase).origin;
    for (const url of [`${proxyBase}/__sim/reset`, `${origin}/cgi-bin/gettoken`, `${proxyBase}/`, `${origin}/`]) {
      const response = await fetch(url, { method: 'POST', headers });
      expect(response.status, url).toBe(404);
    }
    expect(await simCalls()).toEqual({});
  });

  it("passes WeCom's refusals through unchanged, with the IP WeCom saw", async () => {
    await simPost('mode', { untrustedIp: true });
    const error = await rejection(fetchAccessToken(viaProxy()));
    expect(error).toBeInstanceOf(WeComError);
    expect((error as WeComError).errcode).toBe(60020);
    expect((error as WeComError).adminHint).toContain('WeCom saw this call come from 127.0.0.1');
  });
});
