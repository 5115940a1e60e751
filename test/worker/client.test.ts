import { env, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { calls, sim } from './simulator-control.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { configOf, type Config, type WeComApp } from '../../worker/env.ts';
import { createWeComClient, fetchAccessToken, type TokenSource, type WeComClient } from '../../worker/wecom/client.ts';
import { WeComError, WeComFailure, WeComTransportError } from '../../worker/wecom/errors.ts';
import { brokerName, ticketsKvKey, tokenKvKey } from '../../worker/wecom/leases.ts';
import { forgetCachedTokens, wecomClientFor } from '../../worker/wecom/tokens.ts';
import { localTokenSource } from './local-token-source.ts';

// ---- the simulator's control API -------------------------------------------------------------



interface Fault {
  path: string;
  errcode?: number;
  status?: number;
  body?: string;
  delayMs?: number;
  times?: number;
}

const fault = (f: Fault) => sim('faults', f);
const mode = (m: { untrustedIp?: boolean; noContactPermission?: boolean; emptyVisibleRange?: boolean }) => sim('mode', m);


// ---- the demo app ----------------------------------------------------------------------------

function demoConfig(): Config {
  const result = configOf(env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.config;
}

function demoApp(): WeComApp {
  const [app] = demoConfig().apps;
  if (!app) throw new Error('no demo app');
  return app;
}

/** Drops every cached token and ticket (isolate memory, KV, the broker's storage). */
async function startCold(): Promise<void> {
  const app = demoApp();
  forgetCachedTokens();
  await env.KV.delete(tokenKvKey(app));
  await env.KV.delete(ticketsKvKey(app));
  await runInDurableObject(env.TOKEN_BROKER.getByName(brokerName(app)), (_instance, state) => state.storage.deleteAll());
}

/** The production wiring: tokens from the broker, the simulator as WeCom. */
function client(options: { timeoutMs?: number; retryDelaysMs?: number[] } = {}): WeComClient {
  return wecomClientFor(env, demoConfig(), demoApp(), { retryDelaysMs: [10, 20], ...options });
}

/** Rejects with what `run` threw; fails the test if it resolved. */
async function failure(run: Promise<unknown>): Promise<WeComFailure> {
  const outcome = await run.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, 'the call should have failed').toBeInstanceOf(WeComFailure);
  return outcome as WeComFailure;
}

async function warm(c: WeComClient): Promise<void> {
  await c.getUser(demoIds.admin);
  await sim('calls/reset', {});
}

beforeEach(async () => {
  await sim('reset', {});
  await startCold();
});

describe('WeCom client URLs and headers', () => {
  interface Seen {
    url: URL;
    method: string;
    headers: Headers;
    body: string | undefined;
  }

  function recorder(answer: (url: URL) => unknown = () => ({ errcode: 0, errmsg: 'ok' })) {
    const seen: Seen[] = [];
    const fetchStub: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      seen.push({ url, method: init?.method ?? 'GET', headers: new Headers(init?.headers), body: typeof init?.body === 'string' ? init.body : undefined });
      return Response.json(answer(url));
    };
    return { seen, fetchStub };
  }

  const fixedTokens: TokenSource = { accessToken: async () => 'TOKEN-1', refreshAccessToken: async () => 'TOKEN-2' };

  it('keeps the path prefix of an egress-proxy base and sends the proxy token', async () => {
    const { seen, fetchStub } = recorder();
    const c = createWeComClient({ base: 'https://egress.example.com/wecom/', app: demoApp(), tokens: fixedTokens, fetch: fetchStub, proxyToken: 'proxy-secret' });
    await c.getExternalContact('wmX', 'CURSOR');
    expect(seen).toHaveLength(1);
    const [call] = seen;
    expect(call?.url.href.split('?')[0]).toBe('https://egress.example.com/wecom/cgi-bin/externalcontact/get');
    expect(Object.fromEntries(call?.url.searchParams ?? [])).toEqual({ external_userid: 'wmX', cursor: 'CURSOR', access_token: 'TOKEN-1' });
    expect(call?.headers.get('x-proxy-token')).toBe('proxy-secret');
  });

  it('sends no proxy header without a proxy token, and POSTs JSON bodies with the app agentid on message/send', async () => {
    const { seen, fetchStub } = recorder();
    const c = createWeComClient({ base: 'https://qyapi.example.com', app: demoApp(), tokens: fixedTokens, fetch: fetchStub });
    await c.sendMessage({ touser: 'zhangsan', msgtype: 'text', text: { content: 'hi' } });
    const [call] = seen;
    expect(call?.url.pathname).toBe('/cgi-bin/message/send');
    expect(call?.method).toBe('POST');
    expect(call?.headers.has('x-proxy-token')).toBe(false);
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(call?.body ?? '{}')).toEqual({ touser: 'zhangsan', msgtype: 'text', text: { content: 'hi' }, agentid: Number(demoApp().agentId) });
  });

  it('asks gettoken with the corp id and secret and nothing else', async () => {
    const { seen, fetchStub } = recorder(() => ({ errcode: 0, access_token: 'T', expires_in: 7200 }));
    const reply = await fetchAccessToken({ base: 'https://egress.example.com/wecom', app: demoApp(), fetch: fetchStub });
    expect(reply.access_token).toBe('T');
    expect(seen[0]?.url.pathname).toBe('/wecom/cgi-bin/gettoken');
    expect(Object.fromEntries(seen[0]?.url.searchParams ?? [])).toEqual({ corpid: demoApp().corpId, corpsecret: demoApp().secret });
  });
});

describe('WeCom client against the simulator', () => {
  it('reads a member, a customer, the follow-user list and the group chat', async () => {
    const c = client();
    const user = await c.getUser(demoIds.admin);
    expect(user.userid).toBe(demoIds.admin);
    const contact = await c.getExternalContact(demoIds.externalUserIds.followedByTwo);
    expect(contact.external_contact.external_userid).toBe(demoIds.externalUserIds.followedByTwo);
    expect(contact.follow_user.map((f) => f.userid)).toContain('wangwu');
    const follow = await c.getFollowUserList();
    expect(follow.follow_user).toContain('wangwu');
    const chat = await c.getGroupChat(demoIds.chatId);
    expect(chat.group_chat.chat_id).toBe(demoIds.chatId);
  });

  it('fetches one token for many calls', async () => {
    const c = client();
    await Promise.all([c.getUser(demoIds.admin), c.getUser(demoIds.manager), c.getFollowUserList(), c.listDepartments()]);
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('user/get')).toBe(2);
  });
});

describe('token refusals: one refresh, one retry', () => {
  it('refreshes once and retries after an injected 42001', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/externalcontact/get', errcode: 42001, times: 1 });
    const contact = await c.getExternalContact(demoIds.externalUserIds.followedByTwo);
    expect(contact.external_contact.name).toBeTruthy();
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('externalcontact/get')).toBe(2);
  });

  it('refreshes once and retries after WeCom invalidated its tokens (40014)', async () => {
    const c = client();
    await warm(c);
    await sim('tokens/invalidate', {});
    const user = await c.getUser(demoIds.manager);
    expect(user.userid).toBe(demoIds.manager);
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('user/get')).toBe(2);
  });

  it('refreshes once for a burst of calls that all hold the invalidated token', async () => {
    const c = client();
    await warm(c);
    await sim('tokens/invalidate', {});
    const users = await Promise.all(Array.from({ length: 25 }, () => c.getUser(demoIds.admin)));
    expect(users.every((u) => u.userid === demoIds.admin)).toBe(true);
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('user/get')).toBe(50);
  });

  it('treats 40001 on an API call as a refused token, not as a wrong secret', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', errcode: 40001, times: 1 });
    expect((await c.getUser(demoIds.admin)).userid).toBe(demoIds.admin);
    expect((await calls())('gettoken')).toBe(1);
  });

  it('surfaces a second consecutive refusal instead of looping', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', errcode: 42001, times: 2 });
    const error = await failure(c.getUser(demoIds.admin));
    expect(error).toBeInstanceOf(WeComError);
    expect(error.code).toBe('wecom_42001');
    expect((error as WeComError).kind).toBe('token');
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('user/get')).toBe(2);
  });

  it('retries a write once after a refused token (WeCom refused before acting)', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/externalcontact/remark', errcode: 42001, times: 1 });
    await c.remarkExternalContact({ userid: 'wangwu', external_userid: demoIds.externalUserIds.followedByTwo, remark: '陈静' });
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('externalcontact/remark')).toBe(2);
  });
});

describe('configuration errors', () => {
  it('reports a wrong secret as a configuration error with its own message, without retrying gettoken', async () => {
    const app = { ...demoApp(), secret: 'not-the-right-secret' };
    const deps = { base: demoConfig().apiBase, app, retryDelaysMs: [10, 20] };
    const bad = createWeComClient({ ...deps, tokens: localTokenSource(deps) });
    const error = await failure(bad.getUser(demoIds.admin));
    expect(error).toBeInstanceOf(WeComError);
    expect(error.code).toBe('wecom_40001');
    expect(error.status).toBe(503);
    expect((error as WeComError).kind).toBe('configuration');
    expect(error.message).toContain("refused the app's credentials");
    expect(error.hint).toContain('WECOM_SECRET');
    expect(error.message + error.hint).not.toContain('not-the-right-secret');
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('user/get')).toBe(0);
  });

  it('reports a wrong corp id as 40013 with the corp-id hint', async () => {
    const app = { ...demoApp(), corpId: 'wwnotacorp000001' };
    const error = await failure(fetchAccessToken({ base: demoConfig().apiBase, app }));
    expect(error.code).toBe('wecom_40013');
    expect(error.status).toBe(503);
    expect(error.hint).toContain('企业ID');
  });

  it('maps 48002 (app not allowed to call customer-contact APIs) to the permission hint', async () => {
    await mode({ noContactPermission: true });
    const error = await failure(client().getExternalContact(demoIds.externalUserIds.followedByTwo));
    expect(error.code).toBe('wecom_48002');
    expect(error.status).toBe(503);
    expect(error.hint).toContain('客户联系 → 可调用接口的应用');
  });

  it('maps 60020 (untrusted IP) to the egress-proxy hint, naming the IP WeCom saw only in the admin hint', async () => {
    await mode({ untrustedIp: true });
    const error = await failure(client().getUser(demoIds.admin));
    expect(error).toBeInstanceOf(WeComError);
    expect(error.code).toBe('wecom_60020');
    expect(error.status).toBe(503);
    expect(error.hint).toContain('fixed-IP egress proxy');
    expect(error.hint).toContain('WECOM_API_BASE');
    // The simulator reports the caller's address the way WeCom does ("from ip: …").
    const ip = /from ip:\s*([0-9a-fA-F.:]+)/.exec((error as WeComError).errmsg)?.[1];
    expect(ip).toBeTruthy();
    expect((error as WeComError).seenIp).toBe(ip);
    expect((error as WeComError).adminHint).toContain(`WeCom saw this call come from ${ip}`);
    // The hint reaches anonymous visitors' pages; the address is for admins and logs only.
    expect(error.hint).not.toContain(ip);
  });
});

describe('WeCom errors with their hints', () => {
  it('does not retry 45009 (retrying extends the block)', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', errcode: 45009, times: 1 });
    const error = await failure(c.getUser(demoIds.admin));
    expect(error.code).toBe('wecom_45009');
    expect(error.status).toBe(502);
    expect((error as WeComError).kind).toBe('rate_limited');
    expect(error.hint).toContain('Back off');
    expect((await calls())('user/get')).toBe(1);
  });

  it('maps 84061 for a customer the app cannot see as this member’s contact', async () => {
    const error = await failure(client().getExternalContact(demoIds.externalUserIds.onlyHiddenFollower));
    expect(error.code).toBe('wecom_84061');
    expect((error as WeComError).kind).toBe('not_found');
    expect(error.hint).toContain('not (or no longer) an external contact');
  });

  it('maps 84061 from an injected fault the same way', async () => {
    await fault({ path: '/cgi-bin/externalcontact/list', errcode: 84061, times: 1 });
    const error = await failure(client().listExternalContacts('wangwu'));
    expect(error.code).toBe('wecom_84061');
    expect(error.endpoint).toBe('externalcontact/list');
  });

  it('maps 40096 for an external_userid WeCom never issued', async () => {
    const error = await failure(client().getExternalContact(demoIds.unknownExternalUserId));
    expect(error.code).toBe('wecom_40096');
  });

  it('maps 60011 for a member outside the visible range', async () => {
    const error = await failure(client().getUser(demoIds.outsideVisibleRange));
    expect(error.code).toBe('wecom_60011');
    expect(error.hint).toContain('可见范围');
  });

  it('maps 40029 for a login code that is not valid', async () => {
    const error = await failure(client().getUserInfo('no-such-code'));
    expect(error.code).toBe('wecom_40029');
  });

  it('keeps an unknown errcode, pointing at WeCom’s lookup page', async () => {
    await fault({ path: '/cgi-bin/user/get', errcode: 12345678, times: 1 });
    const error = await failure(client().getUser(demoIds.admin));
    expect(error.code).toBe('wecom_12345678');
    expect(error.hint).toContain('devtool/query?e=12345678');
  });
});

describe('transport failures and retries', () => {
  it('retries a read after errcode -1 (system busy)', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', errcode: -1, times: 1 });
    expect((await c.getUser(demoIds.admin)).userid).toBe(demoIds.admin);
    expect((await calls())('user/get')).toBe(2);
  });

  it('gives up on -1 after two retries', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', errcode: -1, times: 5 });
    const error = await failure(c.getUser(demoIds.admin));
    expect(error.code).toBe('wecom_-1');
    expect((await calls())('user/get')).toBe(3);
  });

  it('retries a read that timed out, and succeeds', async () => {
    const c = client({ timeoutMs: 150 });
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', delayMs: 600, times: 1 });
    expect((await c.getUser(demoIds.admin)).userid).toBe(demoIds.admin);
    expect((await calls())('user/get')).toBe(2);
  });

  it('reports a timeout after the bounded retries', async () => {
    const c = client({ timeoutMs: 150 });
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', delayMs: 600, times: 3 });
    const error = await failure(c.getUser(demoIds.admin));
    expect(error).toBeInstanceOf(WeComTransportError);
    expect(error.code).toBe('wecom_timeout');
    expect(error.status).toBe(502);
    expect((await calls())('user/get')).toBe(3);
  });

  it('never retries a write that timed out', async () => {
    const c = client({ timeoutMs: 150 });
    await warm(c);
    await fault({ path: '/cgi-bin/message/send', delayMs: 600, times: 1 });
    const error = await failure(c.sendMessage({ touser: 'wangwu', msgtype: 'text', text: { content: 'hello' } }));
    expect(error.code).toBe('wecom_timeout');
    expect((await calls())('message/send')).toBe(1);
  });

  it('retries a read after a 5xx but never a write', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', status: 502, times: 1 });
    expect((await c.getUser(demoIds.admin)).userid).toBe(demoIds.admin);
    await fault({ path: '/cgi-bin/externalcontact/remark', status: 503, times: 1 });
    const error = await failure(c.remarkExternalContact({ userid: 'wangwu', external_userid: demoIds.externalUserIds.followedByTwo, remark: 'x' }));
    expect(error.code).toBe('wecom_http_status');
    expect((error as WeComTransportError).upstreamStatus).toBe(503);
    const count = await calls();
    expect(count('user/get')).toBe(2);
    expect(count('externalcontact/remark')).toBe(1);
  });

  it('reports a body that is not JSON as a bad response, without retrying', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', body: '<html>502 Bad Gateway</html>', times: 1 });
    const error = await failure(c.getUser(demoIds.admin));
    expect(error.code).toBe('wecom_bad_response');
    expect(error.message).toContain('not a JSON object');
    expect(error.hint).toContain('not WeCom JSON');
    expect((await calls())('user/get')).toBe(1);
  });

  it('reports an unreachable API base as a network error after the retries', async () => {
    const app = demoApp();
    let attempts = 0;
    const refusing: typeof fetch = async () => {
      attempts++;
      throw new TypeError('connection refused');
    };
    const c = createWeComClient({
      base: 'http://127.0.0.1:9',
      app,
      tokens: { accessToken: async () => 'T', refreshAccessToken: async () => 'T2' },
      fetch: refusing,
      retryDelaysMs: [1, 1],
    });
    const error = await failure(c.getUser('zhangsan'));
    expect(error.code).toBe('wecom_network');
    expect(attempts).toBe(3);
  });

  it('never writes a token or secret into the error', async () => {
    const c = client();
    await warm(c);
    await fault({ path: '/cgi-bin/user/get', errcode: 45009, times: 1 });
    const error = await failure(c.getUser(demoIds.admin));
    const stored = await env.KV.get<{ value: string }>(tokenKvKey(demoApp()), 'json');
    expect(stored?.value).toBeTruthy();
    const text = `${error.message} ${error.hint}`;
    expect(text).not.toContain(stored?.value ?? '');
    expect(text).not.toContain(demoApp().secret);
  });
});
