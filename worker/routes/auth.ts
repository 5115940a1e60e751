/**
 * @module
 * `/auth/login`, `/auth/callback`, `/auth/logout`: WeCom OAuth to a session of this product.
 * The state is random, single use, bound to the browser by a cookie and to the server by KV;
 * the code is exchanged once, and a second hit of the same callback (prefetch, double navigation)
 * never exchanges it again.
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app.ts';
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import { clearCookie, readCookie, setCookie } from '../identity/cookies.ts';
import { inAppAuthorizeUrl, isWeComUserAgent, newState, safeReturnPath, STATE_PATTERN, webLoginUrl } from '../identity/oauth.ts';
import { loginProblemPage, type PageText } from '../identity/pages.ts';
import { createSessionStore, SESSION_COOKIE, SESSION_MAX_SECONDS } from '../identity/sessions.ts';
import { createUserRepo, type MemberFacts } from '../identity/users.ts';
import { timingSafeEqual } from '../wecom/crypto.ts';
import { WeComError, WeComFailure } from '../wecom/errors.ts';
import { wecomClientFor } from '../wecom/tokens.ts';

const STATE_COOKIE = 'oauth_state';
/** Long enough to scan a QR code; KV's floor is 60 s. */
const STATE_TTL_SECONDS = 600;
/** How long a used state remembers the session it produced, to answer a repeated callback. */
const USED_STATE_TTL_SECONDS = 300;

interface PendingLogin {
  returnTo: string;
  corpId: string;
  agentId: string;
}

interface CompletedLogin {
  returnTo: string;
  sessionHash: string;
}

const pendingKey = (state: string) => `oauth-state:${state}`;
const usedKey = (state: string) => `oauth-used:${state}`;

function problem(c: Context<AppEnv>, status: 400 | 403 | 502 | 503, text: PageText) {
  return c.html(loginProblemPage(text), status);
}

function chooseApp(c: Context<AppEnv>): WeComApp | undefined {
  const corpId = c.req.query('corp');
  const agentId = c.req.query('agent');
  const apps = c.var.config.apps;
  if (!corpId && !agentId) return apps[0];
  return apps.find((app) => app.corpId === corpId && (!agentId || app.agentId === agentId));
}

export const auth = new Hono<AppEnv>()
  .get('/login', async (c) => {
    const app = chooseApp(c);
    if (!app) return problem(c, 400, { title: '未知的应用 · Unknown app', zh: '没有为该企业和应用配置登录。', en: 'No app is configured for this corp and agent.' });
    const state = newState();
    const returnTo = safeReturnPath(c.req.query('return'));
    const pending: PendingLogin = { returnTo, corpId: app.corpId, agentId: app.agentId };
    await c.env.KV.put(pendingKey(state), JSON.stringify(pending), { expirationTtl: STATE_TTL_SECONDS });
    const redirectUri = `${new URL(c.req.url).origin}/auth/callback`;
    const config = c.var.config;
    const target = isWeComUserAgent(c.req.header('user-agent'))
      ? inAppAuthorizeUrl(config.oauthBase, { corpId: app.corpId, agentId: app.agentId, redirectUri, state, scope: config.oauthScope })
      : webLoginUrl(config.loginBase, { corpId: app.corpId, agentId: app.agentId, redirectUri, state });
    c.header('set-cookie', setCookie(c.req.url, STATE_COOKIE, state, { path: '/auth', maxAgeSeconds: STATE_TTL_SECONDS }));
    c.header('cache-control', 'no-store');
    return c.redirect(target, 302);
  })

  .get('/callback', async (c) => {
    c.header('cache-control', 'no-store');
    const state = c.req.query('state') ?? '';
    const code = c.req.query('code') ?? '';
    const retry = '/auth/login';
    const badState: PageText = {
      title: '登录已失效 · Login expired',
      zh: '登录链接已过期、已被使用，或不是在本浏览器中发起的。请重新登录。',
      en: 'This login link expired, was already used, or was started in another browser. Please log in again.',
      retry,
    };
    if (!STATE_PATTERN.test(state)) return problem(c, 400, badState);
    const cookieState = readCookie(c.req.header('cookie'), STATE_COOKIE) ?? '';
    if (!timingSafeEqual(cookieState, state)) {
      log('warn', 'auth.state_mismatch', { hasCookie: cookieState !== '' });
      return problem(c, 400, badState);
    }

    const sessions = createSessionStore(c.env.KV, c.var.config.sessionSecret);
    const pending = await c.env.KV.get<PendingLogin>(pendingKey(state), 'json');
    if (!pending) {
      // A second hit of a callback that already logged this browser in (prefetch, double navigation, SPA re-mount).
      const used = await c.env.KV.get<CompletedLogin>(usedKey(state), 'json');
      const sid = readCookie(c.req.header('cookie'), SESSION_COOKIE);
      if (used && sid && (await sessions.read(sid))?.hash === used.sessionHash) return c.redirect(used.returnTo, 302);
      log('warn', 'auth.state_unknown', { reused: used !== null });
      return problem(c, 400, badState);
    }
    await c.env.KV.delete(pendingKey(state));

    const app = c.var.config.apps.find((candidate) => candidate.corpId === pending.corpId && candidate.agentId === pending.agentId);
    if (!app) return problem(c, 400, badState);
    if (code === '' || code.length > 512) return problem(c, 400, { ...badState, title: '缺少授权码 · Missing code' });

    const client = wecomClientFor(c.env, c.var.config, app);
    let userid: string | undefined;
    let userTicket: string | undefined;
    try {
      const info = await client.getUserInfo(code);
      userid = info.userid;
      userTicket = info.user_ticket;
    } catch (error) {
      if (error instanceof WeComError && error.errcode === 40029) {
        log('warn', 'auth.code_refused', { corpId: app.corpId, errcode: 40029 });
        return problem(c, 400, {
          title: '授权码无效 · Invalid login code',
          zh: '授权码无效、已过期（5 分钟）或已被使用。请重新登录。',
          en: 'The login code is invalid, expired (codes live 5 minutes) or was already used. Please log in again.',
          retry,
        });
      }
      if (error instanceof WeComFailure) {
        log('error', 'auth.exchange_failed', { corpId: app.corpId, code: error.code });
        return problem(c, error.status === 503 ? 503 : 502, {
          title: '无法完成登录 · Login failed',
          zh: `企业微信接口调用失败（${error.code}）。${error.hint}`,
          en: `The WeCom API call failed (${error.code}). ${error.hint}`,
          retry,
        });
      }
      throw error;
    }
    if (!userid) {
      return problem(c, 403, {
        title: '仅限企业成员 · Members only',
        zh: '你不是该企业的成员，无法使用客户侧边栏。',
        en: 'You are not a member of this corp, so you cannot use the customer sidebar.',
      });
    }

    const facts: MemberFacts = { userid };
    try {
      const member = await client.getUser(userid);
      if (member.name) facts.name = member.name;
      if (member.mobile) facts.mobile = member.mobile;
      if (member.department) facts.departments = member.department;
      if (member.is_leader_in_dept && member.department) facts.leaderIn = member.department.filter((_, i) => member.is_leader_in_dept?.[i] === 1);
      if (member.status !== undefined) facts.wecomStatus = member.status;
    } catch (error) {
      log('warn', 'auth.member_lookup_failed', { corpId: app.corpId, code: error instanceof WeComFailure ? error.code : String(error) });
    }
    if (userTicket) {
      try {
        const detail = await client.getUserDetail(userTicket);
        if (detail.mobile) facts.mobile = detail.mobile;
      } catch (error) {
        // Sensitive fields are optional: the admin may not have ticked them, or the member declined.
        log('warn', 'auth.user_detail_failed', { corpId: app.corpId, code: error instanceof WeComFailure ? error.code : String(error) });
      }
    }

    const users = createUserRepo(c.env.DB);
    const now = Date.now();
    const { user } = await users.upsertMember(app.corpId, facts, { defaultRole: c.var.config.defaultRole, adminUserIds: c.var.config.adminUserIds, now });
    if (user.status !== 'active') {
      return problem(c, 403, {
        title: '账号已停用 · Account deactivated',
        zh: '你的账号在本系统中已停用，请联系管理员。',
        en: 'Your account is deactivated in this system. Ask an admin.',
      });
    }
    await users.recordLogin(user.id, now);
    const session = await sessions.create({ userId: user.id, corpId: app.corpId, agentId: app.agentId, wecomUserId: userid, generation: user.sessionGeneration });
    const completed: CompletedLogin = { returnTo: pending.returnTo, sessionHash: session.hash };
    await c.env.KV.put(usedKey(state), JSON.stringify(completed), { expirationTtl: USED_STATE_TTL_SECONDS });
    log('info', 'auth.login', { corpId: app.corpId, userId: user.id });

    c.header('set-cookie', setCookie(c.req.url, SESSION_COOKIE, session.id, { path: '/', maxAgeSeconds: SESSION_MAX_SECONDS }), { append: true });
    c.header('set-cookie', clearCookie(c.req.url, STATE_COOKIE, '/auth'), { append: true });
    return c.redirect(pending.returnTo, 302);
  })

  .post('/logout', async (c) => {
    const sid = readCookie(c.req.header('cookie'), SESSION_COOKIE);
    if (sid) await createSessionStore(c.env.KV, c.var.config.sessionSecret).revoke(sid);
    c.header('set-cookie', clearCookie(c.req.url, SESSION_COOKIE, '/'));
    return c.json({ ok: true });
  });
