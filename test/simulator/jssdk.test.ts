/**
 * @module
 * `POST /__sim/jssdk/verify`: the WeCom client's signature check, for the simulated client (client.ts).
 * Signatures here are made with node:crypto, independently of the WebCrypto code under test.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

let sim: RunningSimulator;
const FROZEN = () => Date.UTC(2025, 0, 6, 9, 0, 0);
const PAGE = 'http://127.0.0.1:8787/?entry=single_chat_tools&contact=wm1';
const SPA_ORIGIN = 'http://127.0.0.1:8787';

interface Tickets {
  corp: string;
  agent: string;
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: SPA_ORIGIN }, body: JSON.stringify(body) });
}

async function tickets(): Promise<Tickets> {
  const token = (await (await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).json()) as { access_token: string };
  const corp = (await (await fetch(`${sim.url}/cgi-bin/get_jsapi_ticket?access_token=${token.access_token}`)).json()) as { ticket: string };
  const agent = (await (await fetch(`${sim.url}/cgi-bin/ticket/get?type=agent_config&access_token=${token.access_token}`)).json()) as { ticket: string };
  return { corp: corp.ticket, agent: agent.ticket };
}

function sign(ticket: string, url: string, nonceStr = 'Wm3WZYTPz0wzccnW', timestamp = 1736154000) {
  const signature = createHash('sha1').update(`jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url}`).digest('hex');
  return { timestamp, nonceStr, signature };
}

async function verify(body: Record<string, unknown>): Promise<Record<string, { ok: boolean; errMsg: string; errCode?: number; reason?: string }>> {
  const response = await post('/__sim/jssdk/verify', body);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, { ok: boolean; errMsg: string; errCode?: number; reason?: string }>;
}

function page(t: Tickets, overrides: Record<string, unknown> = {}) {
  return { url: PAGE, corpId: demoIds.corpId, agentId: String(demoIds.agentId), config: sign(t.corp, PAGE), agentConfig: sign(t.agent, PAGE), ...overrides };
}

beforeAll(async () => {
  sim = await startSimulator({ simulator: { now: FROZEN } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await post('/__sim/reset', { forgetTokens: true });
});

describe('POST /__sim/jssdk/verify', () => {
  it('accepts both signatures made with the issued corp and app tickets', async () => {
    const t = await tickets();
    expect(await verify(page(t))).toEqual({ config: { ok: true, errMsg: 'config:ok' }, agentConfig: { ok: true, errMsg: 'agentConfig:ok' } });
  });

  it('answers only for the signatures it was given', async () => {
    const t = await tickets();
    expect(await verify({ url: PAGE, corpId: demoIds.corpId, agentId: demoIds.agentId, agentConfig: sign(t.agent, PAGE) })).toEqual({ agentConfig: { ok: true, errMsg: 'agentConfig:ok' } });
  });

  it('refuses tickets mixed up between config and agentConfig (40093)', async () => {
    const t = await tickets();
    const answer = await verify(page(t, { config: sign(t.agent, PAGE), agentConfig: sign(t.corp, PAGE) }));
    expect(answer.config).toEqual({ ok: false, errMsg: 'config:fail invalid signature', errCode: 40093, reason: 'no_matching_ticket' });
    expect(answer.agentConfig).toMatchObject({ ok: false, errCode: 40093 });
  });

  it.each([
    ['with its #fragment', `${PAGE}#/contact/wm1`],
    ['URL-encoded', encodeURIComponent(PAGE)],
    ['of another page', 'http://127.0.0.1:8787/'],
  ])('refuses a signature made for the URL %s', async (_label, signedUrl) => {
    const t = await tickets();
    const answer = await verify(page(t, { config: sign(t.corp, signedUrl), agentConfig: sign(t.agent, signedUrl) }));
    expect(answer.config?.ok).toBe(false);
    expect(answer.agentConfig?.ok).toBe(false);
  });

  it('refuses a signature whose timestamp or nonce differs from the one passed', async () => {
    const t = await tickets();
    const signed = sign(t.agent, PAGE);
    const answer = await verify(page(t, { agentConfig: { ...signed, timestamp: signed.timestamp + 1 }, config: { ...sign(t.corp, PAGE), nonceStr: 'other' } }));
    expect(answer.agentConfig?.ok).toBe(false);
    expect(answer.config?.ok).toBe(false);
  });

  it('checks the app ticket against the agentId given', async () => {
    const t = await tickets();
    expect((await verify(page(t, { agentId: '1000099' }))).agentConfig).toMatchObject({ ok: false, errCode: 40093 });
    expect((await verify(page(t, { corpId: 'wwother' }))).config).toMatchObject({ ok: false, errCode: 40093 });
  });

  it('refuses signatures made with an expired ticket (42012)', async () => {
    const t = await tickets();
    await post('/__sim/clock', { advanceSeconds: 7200 });
    const answer = await verify(page(t));
    expect(answer.config).toEqual({ ok: false, errMsg: 'config:fail invalid signature', errCode: 42012, reason: 'ticket_expired' });
    expect(answer.agentConfig).toMatchObject({ ok: false, errCode: 42012 });
  });

  it('accepts a fresh ticket next to an expired one', async () => {
    await tickets();
    await post('/__sim/clock', { advanceSeconds: 7200 });
    const fresh = await tickets();
    expect((await verify(page(fresh))).agentConfig?.ok).toBe(true);
  });

  it('refuses a page outside the trusted domains when they are set', async () => {
    const t = await tickets();
    await post('/__sim/mode', { trustedDomains: ['sidebar.example.com'] });
    expect((await verify(page(t))).agentConfig).toMatchObject({ ok: false, errMsg: 'agentConfig:fail invalid url domain', reason: 'untrusted_domain' });
    await post('/__sim/mode', { trustedDomains: ['127.0.0.1:8787'] });
    expect((await verify(page(t))).agentConfig?.ok).toBe(true);
  });

  it('answers the browser preflight from the SPA origin', async () => {
    const response = await fetch(`${sim.url}/__sim/jssdk/verify`, {
      method: 'OPTIONS',
      headers: { origin: SPA_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/127\.0\.0\.1:8787)$/);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    const answer = await post('/__sim/jssdk/verify', page(await tickets()));
    expect(answer.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/127\.0\.0\.1:8787)$/);
  });

  it('leaves the one-signature form (`kind`) to the route that serves it', async () => {
    const t = await tickets();
    const response = await post('/__sim/jssdk/verify', { kind: 'agentConfig', agentid: demoIds.agentId, url: PAGE, ...sign(t.agent, PAGE) });
    expect(await response.json()).toEqual({ ok: true, errMsg: 'agentConfig:ok' });
  });

  it.each([
    ['not JSON', '{'],
    ['no signatures', JSON.stringify({ url: PAGE, corpId: demoIds.corpId, agentId: 1 })],
    ['a signature without nonceStr', JSON.stringify({ url: PAGE, corpId: demoIds.corpId, agentId: 1, config: { timestamp: 1, signature: 'x' } })],
    ['agentConfig without agentId', JSON.stringify({ url: PAGE, corpId: demoIds.corpId, agentConfig: { timestamp: 1, nonceStr: 'n', signature: 'x' } })],
  ])('refuses a body with %s', async (_label, body) => {
    const response = await fetch(`${sim.url}/__sim/jssdk/verify`, { method: 'POST', body });
    expect(response.status).toBe(400);
  });
});
