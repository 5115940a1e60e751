import { env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { login } from './identity-helpers.ts';
import { calls, sim } from './simulator-control.ts';
import { createApp } from '../../worker/app.ts';
import { configOf, type WeComApp } from '../../worker/env.ts';
import { checkSignableUrl, createNonce, signJsSdk, signatureString, stripFragment } from '../../worker/wecom/jssdk.ts';
import { brokerName, ticketsKvKey, tokenKvKey, type TicketLeases } from '../../worker/wecom/leases.ts';
import { TICKET_FORCE_INTERVAL_MS } from '../../worker/wecom/token-broker.ts';
import { forgetCachedTokens } from '../../worker/wecom/tokens.ts';

/** PUBLIC_ORIGIN in the demo configuration: the only origin (with TRUSTED_ORIGINS) signed for. */
const ORIGIN = env.PUBLIC_ORIGIN!;

/** SHA-1 written here, straight over WebCrypto, independent of worker/wecom/crypto.ts and jssdk.ts. */
async function independentSha1(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// ---- the simulator ---------------------------------------------------------------------------



/** The simulator checks a signature against the tickets it issued, as the WeCom client would. */
async function simAccepts(kind: 'config' | 'agentConfig', url: string, signed: Signed): Promise<boolean> {
  const answer = (await sim('jssdk/verify', { kind, url, agentid: demoApp().agentId, ...signed })) as { ok: boolean };
  return answer.ok;
}

// ---- the demo app ----------------------------------------------------------------------------

function demoApp(): WeComApp {
  const result = configOf(env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  const [app] = result.config.apps;
  if (!app) throw new Error('no demo app');
  return app;
}

async function startCold(): Promise<void> {
  forgetCachedTokens();
  await env.KV.delete(tokenKvKey(demoApp()));
  await env.KV.delete(ticketsKvKey(demoApp()));
  await runInDurableObject(env.TOKEN_BROKER.getByName(brokerName(demoApp())), (_instance, state) => state.storage.deleteAll());
}

interface Signed {
  timestamp: number;
  nonceStr: string;
  signature: string;
}

interface Signatures {
  corpId: string;
  agentId: string;
  config: Signed;
  agentConfig: Signed;
}

interface ErrorBody {
  error: string;
  message: string;
  errcode?: number;
  hint?: string;
}

function signatureRequest(body: unknown, origin = ORIGIN, headers: Record<string, string> = {}): Request {
  return new Request(`${origin}/api/jssdk/signatures`, {
    method: 'POST',
    // As the SPA sends it: same-origin JSON.
    headers: { origin: ORIGIN, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const sign = (body: unknown) => exports.default.fetch(signatureRequest(body));

beforeEach(async () => {
  await sim('reset', {});
  await startCold();
});

describe('JS-SDK signature (pure)', () => {
  it('reproduces the documented test vector', async () => {
    const signed = await signJsSdk({
      ticket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
      nonceStr: 'Wm3WZYTPz0wzccnW',
      timestamp: 1414587457,
      url: 'http://mp.weixin.qq.com?params=value',
    });
    expect(signed).toEqual({ timestamp: 1414587457, nonceStr: 'Wm3WZYTPz0wzccnW', signature: '0f9de62fce790f9a083d5c99e95740ceb90c27ed' });
  });

  it('signs the documented string in its order, with raw values, matching an independent SHA-1', async () => {
    const cases = [
      { ticket: 'T-1', nonceStr: 'abc', timestamp: 1700000000, url: 'https://crm.example.com/' },
      { ticket: 'kgt8ON7yVITDhtdwci0qeTHmSDrA-eSpR6pRGVxmSdn8dbaCUm5dTWKN3ysSKsLw5S', nonceStr: 'Zz09', timestamp: 1, url: 'https://crm.example.com:8443/side?x=1&y=%E4%B8%AD' },
      { ticket: 'τ', nonceStr: 'N', timestamp: 2147483647, url: 'http://127.0.0.1:8787/?q=中文&a=b c' },
    ];
    for (const input of cases) {
      const text = `jsapi_ticket=${input.ticket}&noncestr=${input.nonceStr}&timestamp=${input.timestamp}&url=${input.url}`;
      expect(signatureString(input)).toBe(text);
      expect((await signJsSdk(input)).signature).toBe(await independentSha1(text));
    }
  });

  it('removes the fragment and nothing else', async () => {
    expect(stripFragment('https://a.example/p?x=1#/route?y=2#z')).toBe('https://a.example/p?x=1');
    expect(stripFragment('https://a.example/p?x=1')).toBe('https://a.example/p?x=1');
    const withHash = await signJsSdk({ ticket: 'T', nonceStr: 'n', timestamp: 5, url: 'https://a.example/p?x=1#/customer/42' });
    expect(withHash.signature).toBe(await independentSha1('jsapi_ticket=T&noncestr=n&timestamp=5&url=https://a.example/p?x=1'));
  });

  it('makes nonces of letters and digits, from the injected randomness', () => {
    const nonce = createNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(createNonce()).not.toBe(nonce);
    expect(createNonce(4, (bytes) => bytes.fill(0))).toBe('AAAA');
    // 255 is above the unbiased range and is skipped; 61 maps to the last character.
    let call = 0;
    expect(createNonce(2, (bytes) => (call++ === 0 ? bytes.fill(255) : bytes.fill(61)))).toBe('99');
  });

  it('signs only absolute http(s) pages on allowed origins', () => {
    const allowed = ['https://crm.example.com', 'http://sidebar.test'];
    expect(checkSignableUrl('https://crm.example.com/side?x=1#frag', allowed)).toEqual({ ok: true, url: 'https://crm.example.com/side?x=1', origin: 'https://crm.example.com' });
    expect(checkSignableUrl('https://evil.example/side', allowed)).toMatchObject({ ok: false, reason: 'foreign_origin', origin: 'https://evil.example' });
    expect(checkSignableUrl('https://crm.example.com.evil.example/', allowed)).toMatchObject({ ok: false, reason: 'foreign_origin' });
    expect(checkSignableUrl('https://crm.example.com:444/', allowed)).toMatchObject({ ok: false, reason: 'foreign_origin' });
    expect(checkSignableUrl('http://crm.example.com/', allowed)).toMatchObject({ ok: false, reason: 'foreign_origin' });
    expect(checkSignableUrl('https://user:pw@crm.example.com/', allowed)).toMatchObject({ ok: false, reason: 'has_credentials' });
    expect(checkSignableUrl('javascript:alert(1)', allowed)).toMatchObject({ ok: false, reason: 'not_http' });
    expect(checkSignableUrl('/side', allowed)).toMatchObject({ ok: false, reason: 'not_a_url' });
    // The URL parser would drop the newline and read crm.example.com; a real location.href never has one.
    expect(checkSignableUrl('https://crm.exa\nmple.com/', allowed)).toMatchObject({ ok: false, reason: 'not_a_url' });
  });
});

describe('POST /api/jssdk/signatures', () => {
  it('signs config and agentConfig for a page on the worker origin, and the signatures verify', async () => {
    const url = `${ORIGIN}/sidebar?entry=single_chat_tools`;
    const response = await sign({ url });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json<Signatures>();
    expect(body.corpId).toBe(demoApp().corpId);
    expect(body.agentId).toBe(demoApp().agentId);
    for (const signed of [body.config, body.agentConfig]) {
      expect(Math.abs(signed.timestamp - Date.now() / 1000)).toBeLessThan(60);
      expect(signed.nonceStr).toMatch(/^[A-Za-z0-9]{16}$/);
      expect(signed.signature).toMatch(/^[0-9a-f]{40}$/);
    }
    // The issuer of the tickets checks them, the way the WeCom client does.
    expect(await simAccepts('config', url, body.config)).toBe(true);
    expect(await simAccepts('agentConfig', url, body.agentConfig)).toBe(true);
    // Corp and app tickets are not interchangeable.
    expect(await simAccepts('agentConfig', url, body.config)).toBe(false);

    // And recomputed here over the documented string with the tickets the broker holds.
    const tickets = await env.KV.get<TicketLeases>(ticketsKvKey(demoApp()), 'json');
    expect(tickets).not.toBeNull();
    const expected = async (ticket: string, signed: Signed) =>
      independentSha1(`jsapi_ticket=${ticket}&noncestr=${signed.nonceStr}&timestamp=${signed.timestamp}&url=${url}`);
    expect(body.config.signature).toBe(await expected(tickets?.jsapi.value ?? '', body.config));
    expect(body.agentConfig.signature).toBe(await expected(tickets?.agentConfig.value ?? '', body.agentConfig));
  });

  it('signs the page without its fragment', async () => {
    const page = `${ORIGIN}/sidebar?x=1`;
    const body = await (await sign({ url: `${page}#/customer/wmDemo` })).json<Signatures>();
    expect(await simAccepts('config', page, body.config)).toBe(true);
    expect(await simAccepts('agentConfig', page, body.agentConfig)).toBe(true);
    expect(await simAccepts('config', `${page}#/customer/wmDemo`, body.config)).toBe(false);
  });

  it('never answers with a token, a ticket or a secret', async () => {
    const text = await (await sign({ url: `${ORIGIN}/` })).text();
    const tickets = await env.KV.get<TicketLeases>(ticketsKvKey(demoApp()), 'json');
    const token = await env.KV.get<{ value: string }>(tokenKvKey(demoApp()), 'json');
    for (const secret of [tickets?.jsapi.value, tickets?.agentConfig.value, token?.value, demoApp().secret]) {
      expect(secret).toBeTruthy();
      expect(text).not.toContain(secret);
    }
  });

  it('refuses refresh: true without a session, and spends no ticket fetch', async () => {
    await sign({ url: `${ORIGIN}/` });
    await sim('calls/reset', {});
    const response = await sign({ url: `${ORIGIN}/`, refresh: true });
    expect(response.status).toBe(401);
    expect((await response.json<ErrorBody>()).error).toBe('unauthenticated');
    const count = await calls();
    expect(count('get_jsapi_ticket')).toBe(0);
    expect(count('ticket/get')).toBe(0);
  });

  it('signs for PUBLIC_ORIGIN, not for the host a request names', async () => {
    const elsewhere = await exports.default.fetch(signatureRequest({ url: 'http://sidebar.test/' }, 'http://sidebar.test'));
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json<ErrorBody>()).error).toBe('untrusted_origin');
    expect((await calls())('gettoken')).toBe(0);
  });

  it('refuses a page on a foreign origin', async () => {
    const response = await sign({ url: 'https://evil.example/phish' });
    expect(response.status).toBe(400);
    const body = await response.json<ErrorBody>();
    expect(body.error).toBe('untrusted_origin');
    expect(body.message).toContain('TRUSTED_ORIGINS');
    expect((await calls())('gettoken')).toBe(0);
  });

  it('signs a page on TRUSTED_ORIGINS', async () => {
    const app = createApp();
    const trusted = { ...env, TRUSTED_ORIGINS: 'https://crm.example.com' };
    const url = 'https://crm.example.com/sidebar';
    const response = await app.request(signatureRequest({ url }), undefined, trusted);
    expect(response.status).toBe(200);
    const body = await response.json<Signatures>();
    expect(await simAccepts('config', url, body.config)).toBe(true);
    const refused = await app.request(signatureRequest({ url: 'https://other.example.com/' }), undefined, trusted);
    expect((await refused.json<ErrorBody>()).error).toBe('untrusted_origin');
  });

  it('refuses malformed JSON, a missing url and a url that is not an absolute http(s) URL', async () => {
    const cases: Array<[unknown, string]> = [
      ['{"url": ', 'invalid_json'],
      [{}, 'invalid_request'],
      [{ url: 42 }, 'invalid_request'],
      [{ url: '' }, 'invalid_request'],
      [{ url: `${ORIGIN}/`, refresh: 'yes' }, 'invalid_request'],
      [{ url: '/sidebar' }, 'invalid_url'],
      [{ url: 'ftp://sidebar.test/' }, 'invalid_url'],
    ];
    for (const [body, code] of cases) {
      const response = await sign(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json<ErrorBody>()).error, JSON.stringify(body)).toBe(code);
    }
  });

  it('answers a cold burst of 300 concurrent requests with one gettoken and one fetch of each ticket', async () => {
    const responses = await Promise.all(Array.from({ length: 300 }, (_, i) => sign({ url: `${ORIGIN}/sidebar?n=${i}` })));
    expect(responses.map((r) => r.status).every((status) => status === 200)).toBe(true);
    const bodies = await Promise.all(responses.map((r) => r.json<Signatures>()));
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('get_jsapi_ticket')).toBe(1);
    expect(count('ticket/get')).toBe(1);
    // Spot-check that they are real signatures for their own pages.
    const [first] = bodies;
    const last = bodies.at(-1);
    if (!first || !last) throw new Error('no bodies');
    expect(await simAccepts('config', `${ORIGIN}/sidebar?n=0`, first.config)).toBe(true);
    expect(await simAccepts('agentConfig', `${ORIGIN}/sidebar?n=299`, last.agentConfig)).toBe(true);
  });

  it('refetches the tickets on refresh: true at most once a minute', async () => {
    const cookie = await login('wangwu');
    const signIn = (body: unknown) => exports.default.fetch(signatureRequest(body, ORIGIN, { cookie }));
    await sign({ url: `${ORIGIN}/` });
    await sim('calls/reset', {});
    const answers: Array<{ retryAfter?: number }> = [];
    for (let i = 0; i < 10; i++) {
      const answer = await signIn({ url: `${ORIGIN}/`, refresh: true });
      expect(answer.status).toBe(200);
      answers.push(await answer.json<{ retryAfter?: number }>());
    }
    // The refused refetches say when one would be granted, so a page refused again can explain.
    expect(answers[0]?.retryAfter).toBeUndefined();
    for (const answer of answers.slice(1)) expect(answer.retryAfter).toBeGreaterThanOrEqual(1);
    for (const answer of answers.slice(1)) expect(answer.retryAfter).toBeLessThanOrEqual(60);
    let count = await calls();
    expect(count('get_jsapi_ticket')).toBe(1);
    expect(count('ticket/get')).toBe(1);
    expect(count('gettoken')).toBe(0);

    await runInDurableObject(env.TOKEN_BROKER.getByName(brokerName(demoApp())), (_instance, state) =>
      state.storage.kv.put('ticketsForcedAt', Date.now() - TICKET_FORCE_INTERVAL_MS - 1),
    );
    const response = await signIn({ url: `${ORIGIN}/a`, refresh: true });
    const body = await response.json<Signatures & { retryAfter?: number }>();
    expect(body.retryAfter).toBeUndefined();
    count = await calls();
    expect(count('get_jsapi_ticket')).toBe(2);
    expect(count('ticket/get')).toBe(2);
    expect(await simAccepts('config', `${ORIGIN}/a`, body.config)).toBe(true);
  });

  it('chooses among several apps by corpId and agentId, and refuses ambiguity', async () => {
    const app = createApp();
    const demo = demoApp();
    const other = { corpId: 'wwother000000001', agentId: '1000009', secret: 'other-app-secret-000000000001', callbackToken: 'OtherToken', encodingAESKey: 'B'.repeat(43) };
    const several = { ...env, WECOM_APPS: JSON.stringify([demo, other]) };
    const ask = async (body: unknown) => app.request(signatureRequest(body), undefined, several);

    const ambiguous = await ask({ url: `${ORIGIN}/` });
    expect(ambiguous.status).toBe(400);
    expect((await ambiguous.json<ErrorBody>()).error).toBe('app_required');

    const unknown = await ask({ url: `${ORIGIN}/`, corpId: demo.corpId, agentId: '999' });
    expect(unknown.status).toBe(400);
    expect((await unknown.json<ErrorBody>()).error).toBe('unknown_app');

    const half = await ask({ url: `${ORIGIN}/`, corpId: demo.corpId });
    expect((await half.json<ErrorBody>()).error).toBe('app_required');

    const chosen = await ask({ url: `${ORIGIN}/`, corpId: demo.corpId, agentId: Number(demo.agentId) });
    expect(chosen.status).toBe(200);
    expect(await chosen.json<Signatures>()).toMatchObject({ corpId: demo.corpId, agentId: demo.agentId });
  });

  it('reports an untrusted IP as 503 with the admin hint and errcode', async () => {
    await sim('mode', { untrustedIp: true });
    const response = await sign({ url: `${ORIGIN}/` });
    expect(response.status).toBe(503);
    const body = await response.json<ErrorBody>();
    expect(body.error).toBe('wecom_60020');
    expect(body.errcode).toBe(60020);
    expect(body.hint).toContain('fixed-IP egress proxy');
  });

  it('shows an anonymous caller no egress IP when WeCom refuses it (60020)', async () => {
    await sim('mode', { untrustedIp: true });
    const response = await sign({ url: `${ORIGIN}/` });
    expect((await response.clone().json<ErrorBody>()).error).toBe('wecom_60020');
    const text = await response.text();
    // The simulator names the worker's address as WeCom does: "from ip: 127.0.0.1".
    expect(text).not.toMatch(/127\.0\.0\.1|from ip|saw this call/);
  });

  it('reports a ticket rate limit as 502 wecom_45009', async () => {
    await sim('faults', { path: '/cgi-bin/ticket/get', errcode: 45009, times: 1 });
    const response = await sign({ url: `${ORIGIN}/` });
    expect(response.status).toBe(502);
    const body = await response.json<ErrorBody>();
    expect(body.error).toBe('wecom_45009');
    expect(body.hint).toContain('Back off');
  });
});
