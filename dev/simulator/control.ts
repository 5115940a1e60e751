/**
 * @module
 * The control API tests and `npm run dev` steer the simulator with, mounted at `/__sim`; never
 * part of WeCom's surface. Reset, call counts, the clock, token invalidation, injected faults
 * (replayed by surface.ts), modes, member status, sent messages, OAuth codes without the pages, the admin console's corp-tag edits (tags.ts), and the JS-SDK
 * signature check (jssdk.ts) and the simulated WeCom client script (client-script.ts), and a generated big corp (big-corp.ts). Refusals here are plain 400s `{ error, message }`: this is not WeCom.
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { BIG_CORP_LIMITS, generateBigCorp } from './big-corp.ts';
import { clientScriptRoutes } from './client-script.ts';
import { jssdkVerifier } from './jssdk.ts';
import type { AuthFlow, AuthRequest } from './oauth.ts';
import type { Fault, JsonObject, SimCore } from './state.ts';
import { tagLibrary } from './tags.ts';
import { readJson, type Ctx, type SimEnv } from './wire.ts';

export function controlRoutes(core: SimCore, auth: AuthFlow): Hono<SimEnv> {
  const { state, now, corp, findApp, findMember } = core;
  const control = new Hono<SimEnv>();

  // The simulated WeCom client (client.ts) calls /__sim/jssdk/verify from the page's origin, so browsers preflight.
  control.use('*', cors());
  control.route('/jssdk', jssdkVerifier({ tickets: () => state.tickets, modes: () => state.modes, now }));
  control.route('/', clientScriptRoutes(core));

  const refuse = (c: Ctx, message: string) => c.json({ error: 'bad_request', message }, 400);

  async function controlBody(c: Ctx): Promise<JsonObject | undefined> {
    try {
      return await readJson(c);
    } catch {
      return undefined;
    }
  }

  control.post('/reset', async (c) => {
    const body = await controlBody(c);
    core.reset({ forgetTokens: body?.forgetTokens === true });
    return c.json({ ok: true });
  });

  // A big corp (big-corp.ts) in place of the demo corp until the next reset: the demo corp plus
  // generated departments, members and contacts, the same for the same seed. Resets first.
  control.post('/big-corp', async (c) => {
    const body = await controlBody(c);
    const options = { members: 5000, departments: 300, contacts: 100_000, seed: 1 };
    for (const key of ['members', 'departments', 'contacts', 'seed'] as const) {
      const value = body?.[key];
      if (value === undefined) continue;
      const max = key === 'seed' ? 2 ** 31 : BIG_CORP_LIMITS[key];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) return refuse(c, `${key} must be an integer 0..${max}`);
      options[key] = value;
    }
    core.reset();
    state.corp = generateBigCorp(state.corp, options);
    const corp = state.corp;
    return c.json({ ...options, totals: { departments: corp.departments.length, members: corp.members.length, contacts: corp.externalContacts.length } });
  });

  control.get('/calls', (c) => c.json(state.calls));
  control.post('/calls/reset', (c) => {
    state.calls = {};
    return c.json({ ok: true });
  });

  control.get('/clock', (c) => c.json({ now: now(), offsetSeconds: state.clockOffsetSeconds }));
  control.post('/clock', async (c) => {
    const body = await controlBody(c);
    const seconds = body?.advanceSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return refuse(c, 'advanceSeconds must be a number >= 0');
    state.clockOffsetSeconds += Math.floor(seconds);
    return c.json({ now: now(), offsetSeconds: state.clockOffsetSeconds });
  });

  control.post('/tokens/invalidate', (c) => {
    let invalidated = 0;
    for (const token of state.tokens) {
      if (!token.invalidated) {
        token.invalidated = true;
        invalidated++;
      }
    }
    return c.json({ invalidated });
  });

  // WeCom stops knowing the JS-SDK tickets it issued (as after a rotation): the page's client refuses
  // signatures made with them as `invalid signature`, with no code, until the worker fetches new ones.
  control.post('/tickets/revoke', (c) => {
    const revoked = state.tickets.length;
    state.tickets = [];
    return c.json({ revoked });
  });

  control.get('/faults', (c) => c.json({ faults: state.faults }));
  control.delete('/faults', (c) => {
    state.faults = [];
    return c.json({ ok: true });
  });
  control.post('/faults', async (c) => {
    const body = await controlBody(c);
    if (!body) return refuse(c, 'body must be a JSON object');
    const rawPath = body.path;
    if (typeof rawPath !== 'string' || rawPath === '') return refuse(c, 'path is required, e.g. "/cgi-bin/externalcontact/get"');
    const path = rawPath.startsWith('/') ? rawPath : `/cgi-bin/${rawPath}`;
    const fault: Fault = { path, remaining: 1 };
    const { errcode, errmsg, status, delayMs, times } = body;
    if (errcode !== undefined) {
      if (typeof errcode !== 'number' || !Number.isInteger(errcode)) return refuse(c, 'errcode must be an integer');
      fault.errcode = errcode;
    }
    if (errmsg !== undefined) {
      if (typeof errmsg !== 'string') return refuse(c, 'errmsg must be a string');
      fault.errmsg = errmsg;
    }
    if (status !== undefined) {
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return refuse(c, 'status must be an HTTP status 200..599');
      fault.status = status;
    }
    if (body.body !== undefined) {
      const raw = body.body;
      if (typeof raw === 'string') fault.body = raw;
      else if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) fault.body = raw;
      else return refuse(c, 'body must be a string (sent as is) or an object (sent as JSON)');
    }
    if (delayMs !== undefined) {
      if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) return refuse(c, 'delayMs must be a number >= 0');
      fault.delayMs = delayMs;
    }
    if (times !== undefined) {
      if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) return refuse(c, 'times must be an integer >= 1');
      fault.remaining = times;
    }
    if (fault.errcode === undefined && fault.status === undefined && fault.body === undefined && fault.delayMs === undefined) {
      return refuse(c, 'give at least one of errcode, status, body, delayMs');
    }
    state.faults.push(fault);
    return c.json({ ok: true, fault });
  });

  control.get('/mode', (c) => c.json(state.modes));
  control.post('/mode', async (c) => {
    const body = await controlBody(c);
    if (!body) return refuse(c, 'body must be a JSON object');
    const next = { ...state.modes };
    for (const key of ['untrustedIp', 'noContactPermission', 'emptyVisibleRange'] as const) {
      const value = body[key];
      if (value === undefined) continue;
      if (typeof value !== 'boolean') return refuse(c, `${key} must be a boolean`);
      next[key] = value;
    }
    const domains = body.trustedDomains;
    if (domains !== undefined) {
      if (domains === null) next.trustedDomains = null;
      else if (Array.isArray(domains) && domains.every((d) => typeof d === 'string')) next.trustedDomains = domains as string[];
      else return refuse(c, 'trustedDomains must be null or an array of host[:port] strings');
    }
    state.modes = next;
    return c.json(state.modes);
  });

  // An admin disabling (2) or re-enabling (1) a member in 通讯录: user/get and user/list then report
  // the new status, as WeCom does; codes already issued stay valid until used or expired.
  control.post('/members/:userid', async (c) => {
    const member = findMember(c.req.param('userid'));
    if (!member) return refuse(c, `no member ${c.req.param('userid')}`);
    const status = (await controlBody(c))?.status;
    if (status !== 1 && status !== 2 && status !== 4 && status !== 5) return refuse(c, 'status must be 1 (active), 2 (disabled), 4 (not activated) or 5 (exited)');
    member.status = status;
    return c.json({ userid: member.userid, status });
  });

  control.get('/messages', (c) => c.json({ messages: state.messages }));

  // An admin editing the corp tag library in the admin console (not through the app, so the app
  // may not edit the result). Answers the change_external_tag fields WeCom would call back with;
  // sending that callback is the caller's (events.ts, `npm run sim:event`).
  control.post('/corp-tags', async (c) => {
    const body = await controlBody(c);
    const library = tagLibrary(core);
    if (body?.action === 'create' && typeof body.groupName === 'string' && typeof body.name === 'string' && body.groupName !== '' && body.name !== '') {
      return c.json({ event: library.consoleCreate(body.groupName, body.name) });
    }
    if (body?.action === 'delete' && typeof body.id === 'string') {
      const event = library.consoleDelete(body.id);
      return event ? c.json({ event }) : refuse(c, `no tag or tag group ${body.id}`);
    }
    return refuse(c, 'send { action: "create", groupName, name } or { action: "delete", id }');
  });

  control.post('/oauth/code', async (c) => {
    const body = await controlBody(c);
    if (!body) return refuse(c, 'body must be a JSON object');
    const { userid, scope = 'snsapi_base', agentid = corp().apps[0]?.agentid ?? null, flow = 'oauth' } = body;
    // `visitor: true` is shorthand for the visitor who is nobody's customer.
    const openid = body.visitor === true ? corp().visitors.find((v) => !v.external_userid)?.openid : body.openid;
    if (scope !== 'snsapi_base' && scope !== 'snsapi_privateinfo') return refuse(c, 'scope must be snsapi_base or snsapi_privateinfo');
    if (flow !== 'oauth' && flow !== 'sso') return refuse(c, 'flow must be oauth or sso');
    if (agentid !== null && typeof agentid !== 'number' && typeof agentid !== 'string') return refuse(c, 'agentid must be a number, a string or null');
    const requestApp = agentid === null ? undefined : findApp(Number(agentid));
    if (agentid !== null && !requestApp) return refuse(c, `no app with agentid ${String(agentid)}`);
    if (scope === 'snsapi_privateinfo' && !requestApp) return refuse(c, 'snsapi_privateinfo needs an agentid');
    const request: AuthRequest = { flow, app: requestApp, scope, redirectUri: 'http://127.0.0.1/', state: undefined, params: {} };
    if (typeof userid === 'string') {
      const member = findMember(userid);
      if (!member) return refuse(c, `no member ${userid}`);
      const refusal = auth.pickRefusal(request, member);
      if (refusal) return refuse(c, refusal);
      return c.json({ code: auth.issueCode(request, { userid }) });
    }
    if (typeof openid === 'string') {
      if (!corp().visitors.some((v) => v.openid === openid)) return refuse(c, `no visitor ${openid}`);
      return c.json({ code: auth.issueCode(request, { openid }) });
    }
    return refuse(c, 'give userid (a member), openid (a visitor) or visitor: true');
  });

  return control;
}
