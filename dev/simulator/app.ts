/**
 * @module
 * A local stand-in for WeCom's servers (qyapi `/cgi-bin/*`, the OAuth and web-login pages) that
 * enforces WeCom's documented rules (as WeCom documents them): token and code
 * lifetimes, ticket hourly limits, visible range, error codes. Tests steer it through `/__sim/*`,
 * which is never part of WeCom's surface. Runtime-neutral (WebCrypto, no `node:` imports); Node
 * serves it over real HTTP (server.ts). Never bundled into the worker or the SPA.
 *
 * This file assembles the parts: state.ts (state, fixture, reset, clock), rules.ts (WeCom's
 * rules), errors.ts and wire.ts (error replies, request bodies, cursors), surface.ts (counting,
 * faults, trusted IP), cgi.ts (`/cgi-bin`), views.ts (response shapes), oauth.ts (authorize and
 * web-login pages), control.ts (`/__sim`), jssdk.ts (`/__sim/jssdk/verify`), client-script.ts and client.ts (the
 * simulated WeCom client, `/__sim/client.js`).
 */
import { Hono } from 'hono';
import { cgiRoutes } from './cgi.ts';
import { controlRoutes } from './control.ts';
import { WeComFailure } from './errors.ts';
import { createAuthFlow, oauthPages, page } from './oauth.ts';
import { createRules } from './rules.ts';
import { createState, type SimulatorOptions } from './state.ts';
import { wecomSurface } from './surface.ts';
import { escapeHtml } from './util.ts';
import { wecomError, type SimEnv } from './wire.ts';

export type {
  AccessTokenRecord,
  Fault,
  JsapiTicketRecord,
  JsonObject,
  OAuthCodeRecord,
  OAuthScope,
  SentMessage,
  SimulatorModes,
  SimulatorOptions,
  SimulatorState,
  TicketCall,
  UserTicketRecord,
} from './state.ts';

export function createSimulator(options: SimulatorOptions = {}) {
  const core = createState(options);
  const { state, reset, now, corp } = core;
  const rules = createRules(core);
  const auth = createAuthFlow(core, rules);

  const app = new Hono<SimEnv>();

  app.onError((err, c) => {
    if (err instanceof WeComFailure) return c.json(wecomError(c, now(), err.errcode, err.detail));
    return c.json({ errcode: -1, errmsg: `system busy (simulator bug: ${err instanceof Error ? err.message : String(err)})` }, 500);
  });

  // Counting, injected faults and the trusted-IP rule apply to everything WeCom serves.
  app.use('*', wecomSurface(core));

  // Registration order matters: `/__sim/oauth/pick` (a page) comes before the control API's CORS.
  app.route('/cgi-bin', cgiRoutes(core, rules));
  app.route('/', oauthPages(core, rules, auth));
  app.route('/__sim', controlRoutes(core, auth));

  app.get('/', (c) => {
    const appInfo = corp().apps[0];
    const demoLink = appInfo
      ? `/connect/oauth2/authorize?${new URLSearchParams({ appid: corp().corpid, redirect_uri: 'http://127.0.0.1:8787/', response_type: 'code', scope: 'snsapi_base', state: 'demo', agentid: String(appInfo.agentid) }).toString()}`
      : '';
    return page(
      'WeCom 模拟器',
      `<h1>WeCom 模拟器 · ${escapeHtml(corp().corp_name)}（${escapeHtml(corp().corpid)}）</h1>
<p>API：<code>/cgi-bin/*</code>；网页授权：<code>/connect/oauth2/authorize</code>；Web 登录：<code>/wwlogin/sso/login</code>。</p>
${demoLink ? `<p><a href="${escapeHtml(demoLink)}">打开示例授权页</a></p>` : ''}
<p class="note">测试控制接口：/__sim/reset, /__sim/calls, /__sim/clock, /__sim/tokens/invalidate, /__sim/faults, /__sim/big-corp, /__sim/mode, /__sim/messages, /__sim/oauth/code, /__sim/jssdk/verify, /__sim/tickets/revoke, /__sim/client.js</p>`,
    );
  });

  app.notFound((c) =>
    c.json({ errcode: -1, errmsg: `simulator: no ${c.req.method} ${c.req.path} (not a WeCom API the simulator implements)` }, 404),
  );

  return { app, state, reset, now };
}

export type Simulator = ReturnType<typeof createSimulator>;
