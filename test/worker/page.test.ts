/**
 * `GET /`, the sidebar's HTML with its boot block. The workers pool serves ASSETS from `dist/`
 * only after a build, so the HTML comes from a stand-in ASSETS fetcher handed to the app at the
 * edge: the SPA's own `web/index.html`, with the headers `web/public/_headers` gives every file,
 * as the ASSETS binding answers. The real binding is exercised by the e2e suite (wrangler dev).
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import indexHtml from '../../web/index.html?raw';
import headersFile from '../../web/public/_headers?raw';
import { createApp } from '../../worker/app.ts';
import type { BootData } from '../../worker/routes/page.ts';
import { api, callback, cookieValue, login, origin, resetIdentity, simCode } from './identity-helpers.ts';
import { sim, simBase } from './simulator-control.ts';

/** The headers `_headers` sets on every file (`/*`), as the assets binding applies them. */
function fileHeaders(): Headers {
  const headers = new Headers({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=0, must-revalidate', etag: '"built"' });
  for (const line of headersFile.split('\n')) {
    const match = /^\s+([A-Za-z-]+):\s*(.+)$/.exec(line);
    if (match?.[1] && match[2]) headers.set(match[1], match[2]);
  }
  return headers;
}

const assets = {
  fetch: async (input: RequestInfo | URL) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.pathname !== '/') return new Response('not found', { status: 404 });
    return new Response(indexHtml, { headers: fileHeaders() });
  },
} as unknown as Fetcher;

const app = createApp();
const WECOM_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh';
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0';

function open(url: string, headers: Record<string, string> = {}, override: Partial<Cloudflare.Env> = {}): Promise<Response> {
  return Promise.resolve(app.request(url, { headers: { 'user-agent': DESKTOP_UA, ...headers }, redirect: 'manual' }, { ...env, ASSETS: assets, ...override }, createExecutionContext()));
}

function bootOf(html: string): BootData {
  const match = /<script type="application\/json" id="boot">([^<]*)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error('no boot block in the page');
  return JSON.parse(match[1]) as BootData;
}

async function simAccepts(kind: 'config' | 'agentConfig', url: string, signed: { timestamp: number; nonceStr: string; signature: string }): Promise<boolean> {
  const answer = (await sim('jssdk/verify', { kind, url, agentid: env.WECOM_AGENT_ID, ...signed })) as { ok: boolean };
  return answer.ok;
}

describe('GET / (the sidebar page)', () => {
  beforeEach(resetIdentity);

  it('says there is no session to a desktop browser without one, and is never cached', async () => {
    const response = await open(`${origin}/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(bootOf(html)).toEqual({ me: null, signatures: null });
    // The rest of the page is the SPA's own, untouched.
    expect(html.replace(/<script type="application\/json" id="boot">[^<]*<\/script>/, '')).toBe(indexHtml);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('vary')).toContain('Cookie');
    expect(response.headers.get('etag')).toBeNull();
  });

  it('carries the policy of web/public/_headers and the worker’s own security headers', async () => {
    const response = await open(`${origin}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    const https = await open('https://crm.example.com/', {}, { PUBLIC_ORIGIN: 'https://crm.example.com' });
    expect(https.headers.get('strict-transport-security')).toContain('max-age=');
  });

  it('embeds the member, as GET /api/me answers, and signatures the WeCom client accepts for the page URL with its query', async () => {
    const cookie = await login('wangwu');
    const page = `${origin}/?entry=single_chat_tools&x=%E4%B8%AD`;
    const response = await open(page, { cookie, 'user-agent': WECOM_UA });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const boot = bootOf(await response.text());
    expect(boot.me).toEqual(await (await api('/api/me', cookie)).json());
    expect(boot.signatures).toMatchObject({ url: page, corpId: env.WECOM_CORP_ID, agentId: env.WECOM_AGENT_ID });
    const signatures = boot.signatures!;
    expect(await simAccepts('config', page, signatures.config)).toBe(true);
    expect(await simAccepts('agentConfig', page, signatures.agentConfig)).toBe(true);
    // For that page only: the same signature on another URL is refused.
    expect(await simAccepts('agentConfig', `${origin}/`, signatures.agentConfig)).toBe(false);
    // No ticket, token or secret travels with them.
    expect(Object.keys(signatures).sort()).toEqual(['agentConfig', 'agentId', 'config', 'corpId', 'url']);
  });

  it('signs nothing for a foreign Host, whatever it names', async () => {
    const cookie = await login('wangwu');
    const response = await open('http://evil.example/?entry=single_chat_tools', { cookie, 'user-agent': WECOM_UA });
    expect(response.status).toBe(200);
    const boot = bootOf(await response.text());
    expect(boot.me?.user.userid).toBe('wangwu');
    expect(boot.signatures).toBeNull();
  });

  it('keeps a name that tries to end the element inside the JSON', async () => {
    const cookie = await login('wangwu');
    const name = '</script><script>alert(1)</script><!--';
    await env.DB.prepare("UPDATE users SET name = ? WHERE wecom_userid = 'wangwu'").bind(name).run();
    const html = await (await open(`${origin}/`, { cookie })).text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html.match(/<\/script>/g)).toHaveLength((indexHtml.match(/<\/script>/g)?.length ?? 0) + 1);
    expect(bootOf(html).me?.user.name).toBe(name);
  });

  it('sends WeCom without a session to OAuth at once, coming back to the same path and query', async () => {
    const response = await open(`${origin}/?entry=single_chat_tools&contact=wm1`, { 'user-agent': WECOM_UA });
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('');
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${simBase}/connect/oauth2/authorize`);
    expect(location.searchParams.get('redirect_uri')).toBe(`${origin}/auth/callback`);
    const state = location.searchParams.get('state')!;
    expect(state).toMatch(/^[A-Za-z0-9]{32,128}$/);
    const stateCookie = cookieValue(response, 'oauth_state')!;
    expect(stateCookie).toBeTruthy();

    // The login that starts there ends on this page.
    const done = await callback(`code=${await simCode('wangwu')}&state=${state}`, `oauth_state=${stateCookie}`);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/?entry=single_chat_tools&contact=wm1');
  });

  it('counts those redirects against the login rate limit', async () => {
    const ip = `198.51.100.7-${crypto.randomUUID()}`;
    const limited = { LOGIN_LIMIT: env.TIGHT_LIMIT };
    for (let i = 0; i < 3; i++) expect((await open(`${origin}/`, { 'user-agent': WECOM_UA, 'cf-connecting-ip': ip }, limited)).status).toBe(302);
    const refused = await open(`${origin}/`, { 'user-agent': WECOM_UA, 'cf-connecting-ip': ip }, limited);
    expect(refused.status).toBe(429);
    expect((await refused.json<{ error: string }>()).error).toBe('rate_limited');
  });

  it('serves the page without a block when the configuration is incomplete', async () => {
    const response = await open(`${origin}/`, {}, { SESSION_SECRET: '' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(indexHtml);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});
