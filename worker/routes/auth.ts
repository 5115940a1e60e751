/**
 * @module
 * `/auth/login`, `/auth/callback`, `/auth/logout`: WeCom OAuth to a session of this product.
 * The state is signed, short-lived and bound to the browser by a cookie (identity/login-state.ts),
 * so starting a login stores nothing. Once WeCom has authenticated a member, the state's nonce is
 * recorded as used; the code is exchanged once, and a second hit of the same callback (prefetch,
 * double navigation) never exchanges it again. Only a member WeCom lists, active here and there,
 * gets a session.
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../types.ts';
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import { clearCookie, readCookie, setCookie } from '../identity/cookies.ts';
import { issueLoginState, LOGIN_STATE_SECONDS, verifyLoginState } from '../identity/login-state.ts';
import { inAppAuthorizeUrl, isWeComUserAgent, safeReturnPath, webLoginUrl } from '../identity/oauth.ts';
import { loginProblemPage, memberLookupProblem, type PageText } from '../identity/pages.ts';
import { SESSION_COOKIE, SESSION_MAX_SECONDS } from '../identity/sessions.ts';
import { isActiveWeComStatus, memberFacts, type MemberFacts } from '../identity/users.ts';
import { edgeServices } from '../services.ts';
import { WeComError, WeComFailure } from '../wecom/errors.ts';

const STATE_COOKIE = 'oauth_state';

/** What a spent state remembers, to answer a repeated callback from the browser it logged in. */
interface CompletedLogin {
  returnTo: string;
  sessionHash: string;
}

const usedKey = (nonce: string) => `oauth-used:${nonce}`;

function problem(c: Context<AppEnv>, status: 400 | 403 | 502 | 503, text: PageText) {
  return c.html(loginProblemPage(text), status);
}

/** The app `?corp=&agent=` names, or the first configured one when the query names none. */
export function chooseApp(c: Context<AppEnv>): WeComApp | undefined {
  const corpId = c.req.query('corp');
  const agentId = c.req.query('agent');
  const apps = c.var.config.apps;
  if (!corpId && !agentId) return apps[0];
  return apps.find((app) => app.corpId === corpId && (!agentId || app.agentId === agentId));
}

/**
 * Starts a login: a signed state bound to this browser by a cookie, then 302 to WeCom's in-app
 * OAuth (a WeCom user agent) or its web login, coming back to `returnTo` (a same-origin path,
 * already passed through safeReturnPath). `GET /auth/login` and the sidebar page both start here;
 * the caller applies the login rate limit.
 */
export async function startLogin(c: Context<AppEnv>, app: WeComApp, returnTo: string): Promise<Response> {
  const config = c.var.config;
  const { state, cookie } = await issueLoginState(config.sessionSecret, { returnTo, corpId: app.corpId, agentId: app.agentId }, Date.now());
  // WeCom sends the code back to our configured name, never to whatever Host this request named.
  const redirectUri = `${config.publicOrigin}/auth/callback`;
  const target = isWeComUserAgent(c.req.header('user-agent'))
    ? inAppAuthorizeUrl(config.oauthBase, { corpId: app.corpId, agentId: app.agentId, redirectUri, state, scope: config.oauthScope })
    : webLoginUrl(config.loginBase, { corpId: app.corpId, agentId: app.agentId, redirectUri, state });
  c.header('set-cookie', setCookie(c.req.url, STATE_COOKIE, cookie, { path: '/auth', maxAgeSeconds: LOGIN_STATE_SECONDS }));
  c.header('cache-control', 'no-store');
  return c.redirect(target, 302);
}

export const auth = new Hono<AppEnv>()
  .get('/login', async (c) => {
    const app = chooseApp(c);
    if (!app) return problem(c, 400, { title: '未知的应用 · Unknown app', zh: '没有为该企业和应用配置登录。', en: 'No app is configured for this corp and agent.' });
    return startLogin(c, app, safeReturnPath(c.req.query('return')));
  })

  .get('/callback', async (c) => {
    c.header('cache-control', 'no-store');
    const code = c.req.query('code') ?? '';
    const retry = '/auth/login';
    const badState: PageText = {
      title: '登录已失效 · Login expired',
      zh: '登录链接已过期、已被使用，或不是在本浏览器中发起的。请重新登录。',
      en: 'This login link expired, was already used, or was started in another browser. Please log in again.',
      retry,
    };
    const checked = await verifyLoginState(c.var.config.sessionSecret, c.req.query('state') ?? '', readCookie(c.req.header('cookie'), STATE_COOKIE), Date.now());
    if (!checked.ok) {
      log('warn', 'auth.state_refused', { reason: checked.reason });
      return problem(c, 400, badState);
    }
    const { nonce, context } = checked;

    const { sessions, users, wecomFor } = edgeServices(c.env, c.var.config);
    const used = await c.env.KV.get<CompletedLogin>(usedKey(nonce), 'json');
    if (used) {
      // A second hit of a callback that already logged this browser in (prefetch, double navigation, SPA re-mount).
      const sid = readCookie(c.req.header('cookie'), SESSION_COOKIE);
      if (sid && (await sessions.read(sid))?.hash === used.sessionHash) return c.redirect(used.returnTo, 302);
      log('warn', 'auth.state_reused', {});
      return problem(c, 400, badState);
    }

    const app = c.var.config.apps.find((candidate) => candidate.corpId === context.corpId && candidate.agentId === context.agentId);
    if (!app) return problem(c, 400, badState);
    if (code === '' || code.length > 512) return problem(c, 400, { ...badState, title: '缺少授权码 · Missing code' });

    const client = wecomFor(app);
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

    // WeCom has authenticated a member: only now is the state spent, so anonymous callers cause no writes.
    // The session's hash is fixed before it exists, so a repeated callback can recognise the browser.
    const minted = await sessions.mint();
    const completed: CompletedLogin = { returnTo: context.returnTo, sessionHash: minted.hash };
    await c.env.KV.put(usedKey(nonce), JSON.stringify(completed), { expirationTtl: LOGIN_STATE_SECONDS });

    let facts: MemberFacts;
    try {
      facts = memberFacts(await client.getUser(userid));
    } catch (error) {
      if (!(error instanceof WeComFailure)) throw error;
      // getuserinfo names every member, user/get only those the app may see: no listing, no session.
      log('warn', 'auth.member_lookup_failed', { corpId: app.corpId, code: error.code });
      const errcode = error instanceof WeComError ? error.errcode : undefined;
      return problem(c, errcode === 60011 || errcode === 60111 ? 403 : error.status, memberLookupProblem(errcode, error.code, retry));
    }
    if (!isActiveWeComStatus(facts.wecomStatus)) {
      log('warn', 'auth.member_disabled', { corpId: app.corpId, wecomStatus: facts.wecomStatus });
      return problem(c, 403, {
        title: '成员已停用 · Member disabled in WeCom',
        zh: '你在企业微信通讯录中已被禁用或已离职，因此无法登录。如有误，请管理员在企业微信管理后台「通讯录」中启用你的账号，然后重新登录。',
        en: 'Your WeCom account is disabled or you have left the corp, so you cannot log in. If this is a mistake, an admin must re-enable you in the WeCom admin console (通讯录 / Contacts); then log in again.',
      });
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

    const now = Date.now();
    // Login never reactivates an account: only org sync, a directory event or an admin does.
    const policy = { defaultRole: c.var.config.defaultRole, adminUserIds: c.var.config.adminUserIds, reactivate: false, now };
    const { user } = await users.upsertMember(app.corpId, facts, policy);
    if (user.status !== 'active') {
      log('warn', 'auth.user_inactive', { corpId: app.corpId, userId: user.id });
      return problem(c, 403, {
        title: '账号已停用 · Account deactivated',
        zh: '你的账号在本系统中已停用（通讯录同步时你已不在应用可见范围内，或管理员停用了它），登录不会恢复它。请管理员确认你在企业微信中在职且在应用的可见范围内，然后在本系统「成员与角色」页运行「通讯录同步」。',
        en: "Your account is deactivated in this system (a directory sync no longer found you in the app's visible range, or an admin deactivated it), and logging in does not restore it. An admin must check that you are an active WeCom member inside the app's visible range, then run the directory sync on the Users and roles page.",
      });
    }
    await users.recordLogin(user.id, now);
    const session = await sessions.create(
      { userId: user.id, corpId: app.corpId, agentId: app.agentId, wecomUserId: userid, generation: user.sessionGeneration },
      minted,
    );
    log('info', 'auth.login', { corpId: app.corpId, userId: user.id });

    c.header('set-cookie', setCookie(c.req.url, SESSION_COOKIE, session.id, { path: '/', maxAgeSeconds: SESSION_MAX_SECONDS }), { append: true });
    c.header('set-cookie', clearCookie(c.req.url, STATE_COOKIE, '/auth'), { append: true });
    return c.redirect(context.returnTo, 302);
  })

  .post('/logout', async (c) => {
    const sid = readCookie(c.req.header('cookie'), SESSION_COOKIE);
    if (sid) await edgeServices(c.env, c.var.config).sessions.revoke(sid);
    c.header('set-cookie', clearCookie(c.req.url, SESSION_COOKIE, '/'));
    return c.json({ ok: true });
  });
