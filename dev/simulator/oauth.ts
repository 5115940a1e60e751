/**
 * @module
 * The pages a person meets in a plain browser during `npm run dev`, standing in for WeCom's:
 * in-client OAuth (`/connect/oauth2/authorize`) and desktop web login (`/wwlogin/sso/login`).
 * Both check the link as WeCom does (docs/wecom.md §4.1, §4.4), list the corp's members and visitors,
 * and `/__sim/oauth/pick` issues the code and redirects back with it. The same checks serve the
 * control API's `/__sim/oauth/code` (control.ts).
 */
import { Hono } from 'hono';
import type { DemoApp, DemoMember } from '../fixtures/demo-corp.ts';
import { seesMember, type Rules } from './rules.ts';
import type { OAuthScope, SimCore } from './state.ts';
import { escapeHtml } from './util.ts';
import type { SimEnv } from './wire.ts';

export interface AuthRequest {
  flow: 'oauth' | 'sso';
  app: DemoApp | undefined;
  scope: OAuthScope;
  redirectUri: string;
  /** undefined when the link carried no state; echoed back exactly otherwise. */
  state: string | undefined;
  /** The query as received, for the pick links. */
  params: Record<string, string>;
}

export type AuthParse = { ok: true; request: AuthRequest } | { ok: false; errcode: number; detail: string };

/** The simulator's HTML page shell (also the home page's). */
export function page(title: string, body: string, status: 200 | 400 = 200): Response {
  const html = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 15px/1.6 system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; color: #1f2329; }
  h1 { font-size: 1.25rem; } .note { color: #646a73; font-size: .875rem; }
  ul { list-style: none; padding: 0; } li { margin: .4rem 0; }
  a.pick { display: block; padding: .6rem .8rem; border: 1px solid #dee0e3; border-radius: 6px; text-decoration: none; color: inherit; }
  a.pick:hover { border-color: #0082ef; } .off { padding: .6rem .8rem; border: 1px dashed #dee0e3; border-radius: 6px; color: #8f959e; }
  .error { border-left: 4px solid #f54a45; padding: .5rem 1rem; background: #fef1f1; } code { font-size: .875rem; }
</style></head>
<body>${body}<p class="note">WeCom 模拟器（本地测试用，非企业微信）</p></body></html>`;
  return new Response(html, { status, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

function errorPage(errcode: number, detail: string): Response {
  return page(
    '授权失败',
    `<h1>授权失败</h1><div class="error"><p>错误码：<strong data-errcode="${errcode}">${errcode}</strong></p><p>${escapeHtml(detail)}</p></div>`,
    400,
  );
}

/** Parsing an authorize or login link, who may be picked, and the code with its redirect. */
export function createAuthFlow(core: SimCore, rules: Rules) {
  const { state, corp, findApp } = core;
  const { visibilityOf } = rules;

  function parseAuthRequest(flow: 'oauth' | 'sso', params: Record<string, string>): AuthParse {
    const bad = (errcode: number, detail: string): AuthParse => ({ ok: false, errcode, detail });
    const appid = params.appid;
    if (!appid) return bad(41002, 'appid 参数缺失');
    if (appid !== corp().corpid) return bad(40013, `appid ${appid} 不是本企业的 CorpID`);

    const rawAgentid = params.agentid;
    let app: DemoApp | undefined;
    if (rawAgentid !== undefined && rawAgentid !== '') {
      app = /^\d+$/.test(rawAgentid) ? findApp(Number(rawAgentid)) : undefined;
      if (!app) return bad(40056, `agentid ${rawAgentid} 不是本企业的应用`);
    }

    let scope: OAuthScope = 'snsapi_base';
    if (flow === 'oauth') {
      if (params.response_type !== 'code') return bad(40058, 'response_type 必须为 code');
      if (params.scope !== 'snsapi_base' && params.scope !== 'snsapi_privateinfo') return bad(40058, 'scope 必须为 snsapi_base 或 snsapi_privateinfo');
      scope = params.scope;
      // Doc 96441 is ambiguous (error, or silently base); the stricter reading is enforced here.
      if (scope === 'snsapi_privateinfo' && !app) return bad(41011, 'snsapi_privateinfo 必须带 agentid');
      if (params.state !== undefined && !/^[a-zA-Z0-9]{0,128}$/.test(params.state)) return bad(84025, 'state 只能是 a-zA-Z0-9，且不超过 128 字节');
    } else {
      if (params.login_type !== 'CorpApp') return bad(40058, 'login_type 必须为 CorpApp（模拟器不模拟 ServiceApp）');
      if (!app) return bad(41011, 'CorpApp 登录必须带 agentid');
    }

    const redirectUri = params.redirect_uri;
    if (!redirectUri) return bad(50001, 'redirect_uri 参数缺失');
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      return bad(50001, 'redirect_uri 不是合法的 URL');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return bad(50001, 'redirect_uri 必须是 http(s) 地址');
    const trusted = state.modes.trustedDomains;
    if (trusted && !trusted.includes(target.host)) return bad(50001, `redirect_uri 的域名 ${target.host} 不是应用的可信域名`);

    return { ok: true, request: { flow, app, scope, redirectUri, state: params.state, params } };
  }

  /** A member may authorise snsapi_privateinfo only from inside the app's visible range (docs/wecom.md §4.1). */
  function pickRefusal(request: AuthRequest, member: DemoMember): string | undefined {
    if (member.status !== 1) return '该成员未激活或已禁用';
    if (request.scope === 'snsapi_privateinfo' && !seesMember(visibilityOf(request.app?.agentid ?? null), member)) {
      return '该成员不在应用可见范围内，无法授权 snsapi_privateinfo';
    }
    return undefined;
  }

  function redirectWithCode(request: AuthRequest, code: string): string {
    const hashAt = request.redirectUri.indexOf('#');
    const base = hashAt === -1 ? request.redirectUri : request.redirectUri.slice(0, hashAt);
    const hash = hashAt === -1 ? '' : request.redirectUri.slice(hashAt);
    let query = `code=${encodeURIComponent(code)}`;
    if (request.state !== undefined) query += `&state=${encodeURIComponent(request.state)}`;
    return `${base}${base.includes('?') ? '&' : '?'}${query}${hash}`;
  }

  /** A code for what the link asked, for the member or visitor picked. */
  function issueCode(request: AuthRequest, subject: { userid: string } | { openid: string }): string {
    return rules.issueCode({ agentid: request.app?.agentid ?? null, scope: request.scope, flow: request.flow }, subject);
  }

  return { parseAuthRequest, pickRefusal, redirectWithCode, issueCode };
}

export type AuthFlow = ReturnType<typeof createAuthFlow>;

export function oauthPages(core: SimCore, rules: Rules, auth: AuthFlow): Hono<SimEnv> {
  const { corp, findMember } = core;
  const { visibilityOf } = rules;
  const { parseAuthRequest, pickRefusal, redirectWithCode, issueCode } = auth;
  const app = new Hono<SimEnv>();

  function pickPage(request: AuthRequest): Response {
    const base = { ...request.params, flow: request.flow };
    const link = (extra: Record<string, string>) => `/__sim/oauth/pick?${new URLSearchParams({ ...base, ...extra }).toString()}`;
    const v = visibilityOf(request.app?.agentid ?? null);
    const departmentName = (id: number) => corp().departments.find((d) => d.id === id)?.name ?? String(id);
    const members = corp()
      .members.map((m) => {
        const label = `${escapeHtml(m.name)}（${escapeHtml(m.userid)}）· ${escapeHtml(departmentName(m.main_department))} · ${escapeHtml(m.position)}${seesMember(v, m) ? '' : ' · 不在应用可见范围'}`;
        const refusal = pickRefusal(request, m);
        return refusal
          ? `<li><div class="off" data-userid="${escapeHtml(m.userid)}">${label}<br><small>${escapeHtml(refusal)}</small></div></li>`
          : `<li><a class="pick" data-userid="${escapeHtml(m.userid)}" href="${escapeHtml(link({ userid: m.userid }))}">${label}</a></li>`;
      })
      .join('\n');
    const visitors = corp()
      .visitors.map((visitor) => `<li><a class="pick" data-openid="${escapeHtml(visitor.openid)}" href="${escapeHtml(link({ openid: visitor.openid }))}">${escapeHtml(visitor.label)}</a></li>`)
      .join('\n');
    const appName = request.app ? `${request.app.name}（AgentId ${request.app.agentid}）` : '未指定应用';
    const what = request.flow === 'oauth' ? `网页授权 ${escapeHtml(request.scope)}` : '企业微信 Web 登录';
    return page(
      '选择登录身份',
      `<h1>${escapeHtml(corp().corp_name)} · 选择登录身份</h1>
<p>${escapeHtml(appName)} 请求${what}。<br><span class="note">授权后跳转到 ${escapeHtml(new URL(request.redirectUri).origin)}</span></p>
<h2>企业成员</h2>
<ul>
${members}
</ul>
<h2>非企业成员</h2>
<ul>
${visitors}
</ul>`,
    );
  }

  app.get('/connect/oauth2/authorize', (c) => {
    const parsed = parseAuthRequest('oauth', c.req.query());
    return parsed.ok ? pickPage(parsed.request) : errorPage(parsed.errcode, parsed.detail);
  });

  app.get('/wwlogin/sso/login', (c) => {
    const parsed = parseAuthRequest('sso', c.req.query());
    return parsed.ok ? pickPage(parsed.request) : errorPage(parsed.errcode, parsed.detail);
  });

  app.get('/__sim/oauth/pick', (c) => {
    const { flow, userid, openid, ...params } = c.req.query();
    if (flow !== 'oauth' && flow !== 'sso') return errorPage(40058, 'flow 必须为 oauth 或 sso');
    const parsed = parseAuthRequest(flow, params);
    if (!parsed.ok) return errorPage(parsed.errcode, parsed.detail);
    const request = parsed.request;
    let code: string;
    if (userid) {
      const member = findMember(userid);
      if (!member) return errorPage(60111, `成员 ${userid} 不存在`);
      const refusal = pickRefusal(request, member);
      if (refusal) return errorPage(50002, refusal);
      code = issueCode(request, { userid });
    } else if (openid && corp().visitors.some((v) => v.openid === openid)) {
      code = issueCode(request, { openid });
    } else {
      return errorPage(40058, '请选择一位成员或访客');
    }
    return c.redirect(redirectWithCode(request, code), 302);
  });

  return app;
}
