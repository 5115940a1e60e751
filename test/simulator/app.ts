/**
 * @module
 * A local stand-in for WeCom's servers (qyapi `/cgi-bin/*`, the OAuth and web-login pages) that
 * enforces WeCom's documented rules (docs: /work/shared/wecom-reference.md): token and code
 * lifetimes, ticket hourly limits, visible range, error codes. Tests steer it through `/__sim/*`,
 * which is never part of WeCom's surface. Runtime-neutral (WebCrypto, no `node:` imports); Node
 * serves it over real HTTP (server.ts). Never bundled into the worker or the SPA.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import {
  demoCorp,
  type DemoApp,
  type DemoCorp,
  type DemoExternalContact,
  type DemoFollowUser,
  type DemoMember,
} from '../fixtures/demo-corp.ts';
import { jssdkVerifier } from './jssdk.ts';

export interface SimulatorOptions {
  corp?: DemoCorp;
  /** Wall clock in milliseconds; `/__sim/clock` adds its offset on top. */
  now?: () => number;
}

export type OAuthScope = 'snsapi_base' | 'snsapi_privateinfo';

export interface AccessTokenRecord {
  token: string;
  corpid: string;
  /** null: a token of the 通讯录同步 helper's secret, which belongs to no app. */
  agentid: number | null;
  issuedAt: number;
  expiresAt: number;
  invalidated: boolean;
}

export interface JsapiTicketRecord {
  ticket: string;
  kind: 'corp' | 'agent';
  corpid: string;
  agentid: number;
  expiresAt: number;
}

export interface TicketCall {
  kind: 'corp' | 'agent';
  corpid: string;
  agentid: number;
  at: number;
}

export interface OAuthCodeRecord {
  code: string;
  corpid: string;
  /** null when the authorize link carried no agentid (snsapi_base only). */
  agentid: number | null;
  scope: OAuthScope;
  /** `oauth`: in-client /connect/oauth2/authorize; `sso`: desktop /wwlogin/sso/login (never a user_ticket). */
  flow: 'oauth' | 'sso';
  userid?: string;
  openid?: string;
  expiresAt: number;
  used: boolean;
}

export interface UserTicketRecord {
  ticket: string;
  corpid: string;
  agentid: number;
  userid: string;
  expiresAt: number;
}

export interface Fault {
  path: string;
  errcode?: number;
  errmsg?: string;
  status?: number;
  body?: string | Record<string, unknown>;
  delayMs?: number;
  remaining: number;
}

export interface SimulatorModes {
  /** Every API call answers 60020, gettoken included (the 2022-06-20 trusted-IP rule). */
  untrustedIp: boolean;
  /** Every externalcontact/* call answers 48002 (app not in 客户联系 → 可调用接口的应用). */
  noContactPermission: boolean;
  /** The app sees no department and no member. */
  emptyVisibleRange: boolean;
  /** 可信域名 (host[:port]) checked against redirect_uri; null leaves it unchecked, since dev ports vary. */
  trustedDomains: string[] | null;
}

export interface SentMessage {
  msgid: string;
  receivedAt: number;
  agentid: number;
  touser: string[];
  invaliduser: string[];
  msgtype: string;
  request: JsonObject;
}

export interface SimulatorState {
  corp: DemoCorp;
  clockOffsetSeconds: number;
  tokens: AccessTokenRecord[];
  tickets: JsapiTicketRecord[];
  ticketCalls: TicketCall[];
  codes: Map<string, OAuthCodeRecord>;
  userTickets: Map<string, UserTicketRecord>;
  faults: Fault[];
  modes: SimulatorModes;
  messages: SentMessage[];
  /** Requests per path (WeCom APIs and pages, not `/__sim/*`). */
  calls: Record<string, number>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

type SimBindings = { remoteAddress?: string };
type SimEnv = { Bindings: SimBindings; Variables: { token: AccessTokenRecord } };
type Ctx = Context<SimEnv>;

// WeCom's lifetimes and limits (reference §0, §1, §2, §4).
const TOKEN_TTL = 7200;
const TICKET_TTL = 7200;
const CODE_TTL = 300;
const USER_TICKET_TTL = 1800;
const HOUR = 3600;
const CORP_TICKET_PER_APP_PER_HOUR = 100;
const CORP_TICKET_PER_CORP_PER_HOUR = 400;
const AGENT_TICKET_PER_APP_PER_HOUR = 100;
/** Apps created from this day on lose sensitive member fields and must call from a trusted IP. */
const NEW_APP_RULES_FROM = '2022-06-20';
/** What 60020 names when the caller's address is unknown (app.request in tests): TEST-NET-3. */
const FALLBACK_CALLER_IP = '203.0.113.10';

const ERRMSG: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid secret',
  40003: 'invalid userid',
  40007: 'invalid media_id',
  40008: 'invalid message type',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40050: 'chatid not found',
  40056: 'invalid agentid',
  40058: 'invalid parameter',
  40096: 'invalid external userid',
  41001: 'access_token missing',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  41008: 'missing code',
  41009: 'missing userid',
  41011: 'missing agentid',
  41035: 'missing external userid',
  42001: 'access_token expired',
  44004: 'empty content',
  45002: 'content size out of limit',
  45009: 'api freq out of limit',
  47001: 'data format error',
  48002: 'api forbidden',
  50001: 'redirect_url not authorised',
  50002: 'user out of the app scope',
  50100: 'invalid cursor',
  60011: 'no privilege to access/modify contact/party/agent',
  60020: 'not allow to access from your ip',
  60111: 'userid not found',
  60123: 'invalid party id',
  60127: 'missing department',
  81013: 'user & party & tag all invalid',
  82001: 'all touser & toparty & totag empty',
  84014: 'user ticket expired',
  84015: 'invalid user ticket',
  84025: 'invalid state',
  84061: 'not external contact',
  84090: 'missing user_ticket',
  91040: 'invalid ticket type',
  301002: 'not allow to operate another agent',
};

/** A WeCom error answer; handlers throw it and onError renders `{errcode, errmsg}` with HTTP 200. */
class WeComFailure extends Error {
  readonly errcode: number;
  readonly detail: string | undefined;
  constructor(errcode: number, detail?: string) {
    super(`${errcode} ${ERRMSG[errcode] ?? 'error'}${detail ? `: ${detail}` : ''}`);
    this.errcode = errcode;
    this.detail = detail;
  }
}

function fail(errcode: number, detail?: string): never {
  throw new WeComFailure(errcode, detail);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(length: number, alphabet = ALPHABET): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);
}

/** FNV-1a, only to bind a pagination cursor to the request it came from. */
function fingerprint(value: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

function encodeCursor(offset: number, boundTo: string): string {
  return btoa(`${offset}:${fingerprint(boundTo)}`).replace(/=+$/, '');
}

function decodeCursor(cursor: string | undefined, boundTo: string): number {
  if (!cursor) return 0;
  let text: string;
  try {
    text = atob(cursor);
  } catch {
    fail(50100);
  }
  const match = /^(\d+):([0-9a-z]+)$/.exec(text);
  if (!match || match[2] !== fingerprint(boundTo)) fail(50100);
  return Number(match[1]);
}

/** WeCom counts characters, not bytes, for remark lengths (UNCONFIRMED; code points here). */
function charLength(value: string): number {
  return [...value].length;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Request bodies: WeCom POST APIs take JSON; wrong types are 40058, unparseable bodies 47001.

async function readJson(c: Ctx): Promise<JsonObject> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail(47001);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(47001);
  return parsed as JsonObject;
}

function optString(body: JsonObject, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(40058, `${key} must be a string`);
  return value;
}

function optStringList(body: JsonObject, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) fail(40058, `${key} must be an array of strings`);
  return value as string[];
}

/** WeCom accepts numbers given as JSON numbers or numeric strings (agentid, limit). */
function optInteger(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) fail(40058, `${key} must be an integer`);
  return number;
}

// ---------------------------------------------------------------------------------------------

export function createSimulator(options: SimulatorOptions = {}) {
  const fixture = options.corp ?? demoCorp;
  const wallClock = options.now ?? Date.now;

  const state: SimulatorState = {
    corp: structuredClone(fixture),
    clockOffsetSeconds: 0,
    tokens: [],
    tickets: [],
    ticketCalls: [],
    codes: new Map(),
    userTickets: new Map(),
    faults: [],
    modes: defaultModes(),
    messages: [],
    calls: {},
  };

  /**
   * Back to the fixture, counters at zero. Issued access tokens and jsapi tickets stay valid and the
   * clock never runs backwards, as with WeCom itself: a client that cached a token before a test is
   * not pushed into an unplanned refresh (which would skew call counts). `forgetTokens` drops them.
   */
  function reset(opts: { forgetTokens?: boolean } = {}): void {
    state.corp = structuredClone(fixture);
    if (opts.forgetTokens) {
      state.tokens = [];
      state.tickets = [];
    }
    state.ticketCalls = [];
    state.codes.clear();
    state.userTickets.clear();
    state.faults = [];
    state.modes = defaultModes();
    state.messages = [];
    state.calls = {};
  }

  /** The simulator's clock in Unix seconds: every lifetime and hourly window is measured on it. */
  function now(): number {
    return Math.floor(wallClock() / 1000) + state.clockOffsetSeconds;
  }

  const corp = () => state.corp;

  /** A department and everything below it, as WeCom expands departments in ranges and recipients. */
  function subtree(rootId: number): Set<number> {
    const ids = new Set<number>();
    const walk = (id: number) => {
      if (ids.has(id)) return;
      ids.add(id);
      for (const child of corp().departments) if (child.parentid === id) walk(child.id);
    };
    if (corp().departments.some((d) => d.id === rootId)) walk(rootId);
    return ids;
  }
  const findApp = (agentid: number | null | undefined) => (agentid == null ? undefined : corp().apps.find((a) => a.agentid === agentid));
  const findMember = (userid: string) => corp().members.find((m) => m.userid === userid);
  const findContact = (externalUserid: string) => corp().externalContacts.find((e) => e.external_contact.external_userid === externalUserid);

  // ---- Visible range (应用可见范围): departments bring their whole subtree along (reference §7, 60011).

  interface Visibility {
    all: boolean;
    departments: Set<number>;
    users: Set<string>;
  }

  function visibilityOf(agentid: number | null): Visibility {
    // The 通讯录同步 helper sees the whole directory.
    if (agentid === null) return { all: true, departments: new Set(), users: new Set() };
    const app = findApp(agentid);
    const departments = new Set<number>();
    if (!app || state.modes.emptyVisibleRange) return { all: false, departments, users: new Set() };
    for (const id of app.visibleRange.departments) for (const inRange of subtree(id)) departments.add(inRange);
    return { all: false, departments, users: new Set(app.visibleRange.users) };
  }

  const seesDepartment = (v: Visibility, id: number) => v.all || v.departments.has(id);
  const seesMember = (v: Visibility, m: DemoMember) => v.all || v.users.has(m.userid) || m.department.some((d) => v.departments.has(d));

  function requireApp(token: AccessTokenRecord): DemoApp {
    const app = findApp(token.agentid);
    if (!app) fail(48002, 'this API needs an app access_token, not the contact-sync one');
    return app;
  }

  function requireVisibleMember(token: AccessTokenRecord, userid: string | undefined): DemoMember {
    if (!userid) fail(41009);
    const member = findMember(userid);
    if (!member) fail(60111, `userid ${userid}`);
    if (!seesMember(visibilityOf(token.agentid), member)) fail(60011, `userid ${userid} is outside the app's visible range`);
    return member;
  }

  // ---- Response shapes

  function memberView(member: DemoMember, token: AccessTokenRecord): JsonObject {
    const view: JsonObject = {
      userid: member.userid,
      name: member.name,
      department: member.department,
      order: member.order,
      position: member.position,
      is_leader_in_dept: member.is_leader_in_dept,
      direct_leader: member.direct_leader,
      main_department: member.main_department,
      status: member.status,
      telephone: member.telephone,
      alias: member.alias,
      extattr: { attrs: [] },
      external_position: '',
    };
    const app = findApp(token.agentid);
    // Apps created after 2022-06-20 never get these from user/get (reference §8, restriction 1).
    if (app && app.createdAt >= NEW_APP_RULES_FROM) return view;
    return {
      ...view,
      mobile: member.mobile,
      gender: member.gender,
      email: member.email,
      biz_mail: member.biz_mail,
      avatar: member.avatar,
      thumb_avatar: member.avatar,
      qr_code: member.qr_code,
      address: member.address,
    };
  }

  function contactView(contact: DemoExternalContact): JsonObject {
    const ec = contact.external_contact;
    const view: JsonObject = { external_userid: ec.external_userid, name: ec.name, avatar: ec.avatar, type: ec.type, gender: ec.gender };
    // unionid exists only for WeChat users, and only once the corp bound a WeChat developer ID (§7).
    if (ec.type === 1 && ec.unionid && corp().wechatDeveloperIdBound) view.unionid = ec.unionid;
    if (ec.type === 2) {
      if (ec.position !== undefined) view.position = ec.position;
      if (ec.corp_name !== undefined) view.corp_name = ec.corp_name;
      if (ec.corp_full_name !== undefined) view.corp_full_name = ec.corp_full_name;
    }
    // The fixture types use optional fields, which the Json index signature cannot express.
    if (ec.external_profile) view.external_profile = structuredClone(ec.external_profile) as unknown as JsonObject;
    return view;
  }

  function followBase(follow: DemoFollowUser): JsonObject {
    const view: JsonObject = {
      userid: follow.userid,
      remark: follow.remark,
      description: follow.description,
      createtime: follow.createtime,
      remark_mobiles: [...follow.remark_mobiles],
      oper_userid: follow.oper_userid,
      add_way: follow.add_way,
    };
    if (follow.remark_corp_name !== undefined) view.remark_corp_name = follow.remark_corp_name;
    if (follow.state !== undefined) view.state = follow.state;
    return view;
  }

  function followView(follow: DemoFollowUser): JsonObject {
    return {
      ...followBase(follow),
      tags: follow.tags.map((t) => {
        const tag: JsonObject = { group_name: t.group_name, tag_name: t.tag_name, type: t.type };
        if (t.tag_id !== undefined) tag.tag_id = t.tag_id;
        return tag;
      }),
    };
  }

  /** batch/get_by_user's follow_info: tag ids only, and only corp (1) and rule-group (3) tags (§7). */
  function followInfoView(follow: DemoFollowUser): JsonObject {
    const tagIds: string[] = [];
    for (const t of follow.tags) if (t.type !== 2 && t.tag_id) tagIds.push(t.tag_id);
    return { ...followBase(follow), tag_id: tagIds };
  }

  function visibleFollowers(contact: DemoExternalContact, v: Visibility): DemoFollowUser[] {
    return contact.follow_user.filter((f) => {
      const member = findMember(f.userid);
      return member !== undefined && seesMember(v, member);
    });
  }

  // ---- Tokens, tickets, codes

  function issueToken(corpid: string, agentid: number | null): AccessTokenRecord {
    const at = now();
    // "有效期内重复获取返回相同结果" (2020 doc, reference §1): hand back the live token, with its remaining life.
    const live = state.tokens.find((t) => t.corpid === corpid && t.agentid === agentid && !t.invalidated && t.expiresAt > at);
    if (live) return live;
    const record: AccessTokenRecord = { token: randomString(160, `${ALPHABET}-_`), corpid, agentid, issuedAt: at, expiresAt: at + TOKEN_TTL, invalidated: false };
    state.tokens.push(record);
    return record;
  }

  function ticketCallsSince(kind: 'corp' | 'agent', match: (call: TicketCall) => boolean): number {
    const since = now() - HOUR;
    return state.ticketCalls.filter((call) => call.kind === kind && call.at > since && match(call)).length;
  }

  function issueTicket(kind: 'corp' | 'agent', app: DemoApp): JsapiTicketRecord {
    const at = now();
    state.ticketCalls.push({ kind, corpid: corp().corpid, agentid: app.agentid, at });
    const record: JsapiTicketRecord = { ticket: randomString(86, `${ALPHABET}-_`), kind, corpid: corp().corpid, agentid: app.agentid, expiresAt: at + TICKET_TTL };
    state.tickets.push(record);
    return record;
  }

  function issueCode(request: AuthRequest, subject: { userid: string } | { openid: string }): string {
    const code = randomString(43, `${ALPHABET}-_`);
    state.codes.set(code, {
      code,
      corpid: corp().corpid,
      agentid: request.app?.agentid ?? null,
      scope: request.scope,
      flow: request.flow,
      ...subject,
      expiresAt: now() + CODE_TTL,
      used: false,
    });
    return code;
  }

  // ---- OAuth and web-login requests (reference §4.1, §4.4)

  interface AuthRequest {
    flow: 'oauth' | 'sso';
    app: DemoApp | undefined;
    scope: OAuthScope;
    redirectUri: string;
    /** undefined when the link carried no state; echoed back exactly otherwise. */
    state: string | undefined;
    /** The query as received, for the pick links. */
    params: Record<string, string>;
  }

  type AuthParse = { ok: true; request: AuthRequest } | { ok: false; errcode: number; detail: string };

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

  /** A member may authorise snsapi_privateinfo only from inside the app's visible range (§4.1). */
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

  // ---------------------------------------------------------------------------------------------
  // The app

  const app = new Hono<SimEnv>();

  app.onError((err, c) => {
    if (err instanceof WeComFailure) return c.json(wecomError(c, err.errcode, err.detail));
    return c.json({ errcode: -1, errmsg: `system busy (simulator bug: ${err instanceof Error ? err.message : String(err)})` }, 500);
  });

  function callerIp(c: Ctx): string {
    const env: SimBindings | undefined = c.env;
    const address = env?.remoteAddress;
    if (!address) return FALLBACK_CALLER_IP;
    return address.startsWith('::ffff:') ? address.slice(7) : address;
  }

  /** WeCom's errmsg always carries a hint, the caller's IP and a link; clients must branch on errcode only. */
  function wecomError(c: Ctx, errcode: number, detail?: string): { errcode: number; errmsg: string } {
    const text = ERRMSG[errcode] ?? 'error';
    const hint = `${now()}${randomString(8, '0123456789')}`;
    return {
      errcode,
      errmsg: `${text}${detail ? ` (${detail})` : ''}, hint: [${hint}], from ip: ${callerIp(c)}, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`,
    };
  }

  const ok = (c: Ctx, body: JsonObject = {}) => c.json({ errcode: 0, errmsg: 'ok', ...body });

  // Counting, injected faults and the trusted-IP rule apply to everything WeCom serves.
  app.use('*', async (c, next) => {
    const path = c.req.path;
    if (path.startsWith('/__sim/') || path === '/' || path === '/__sim') return next();
    state.calls[path] = (state.calls[path] ?? 0) + 1;

    const index = state.faults.findIndex((f) => f.path === path && f.remaining > 0);
    const fault = index === -1 ? undefined : state.faults[index];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) state.faults.splice(index, 1);
      if (fault.delayMs) await sleep(fault.delayMs, c.req.raw.signal);
      if (fault.body !== undefined) {
        const raw = fault.body;
        const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
        return new Response(text, {
          status: fault.status ?? 200,
          headers: { 'content-type': typeof raw === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8' },
        });
      }
      if (fault.errcode !== undefined) {
        const body = wecomError(c, fault.errcode);
        if (fault.errmsg !== undefined) body.errmsg = fault.errmsg;
        return new Response(JSON.stringify(body), { status: fault.status ?? 200, headers: { 'content-type': 'application/json; charset=utf-8' } });
      }
      if (fault.status !== undefined) {
        return new Response(`<html><body><h1>${fault.status}</h1>simulated upstream failure</body></html>`, {
          status: fault.status,
          headers: { 'content-type': 'text/html; charset=utf-8' },
        });
      }
      // A delay alone: answer normally, late.
    }

    if (path.startsWith('/cgi-bin/') && state.modes.untrustedIp) return c.json(wecomError(c, 60020));
    return next();
  });

  // ---- /cgi-bin: access token first, then the APIs.

  const knownApis = new Set<string>();
  const cgi = new Hono<SimEnv>();

  cgi.use('*', async (c, next) => {
    const path = c.req.path;
    if (path === '/cgi-bin/gettoken' || !knownApis.has(`${c.req.method} ${path}`)) return next();
    const value = c.req.query('access_token');
    if (!value) fail(41001);
    const token = state.tokens.find((t) => t.token === value);
    if (!token || token.invalidated || token.corpid !== corp().corpid) fail(40014);
    if (token.expiresAt <= now()) fail(42001);
    if (path.startsWith('/cgi-bin/externalcontact/')) {
      const owner = findApp(token.agentid);
      // Customer APIs need an app listed under 客户联系 → 可调用接口的应用 (48002, reference §7).
      if (!owner || !owner.customerContactApp || state.modes.noContactPermission) fail(48002);
    }
    c.set('token', token);
    return next();
  });

  type Handler = (c: Ctx, token: AccessTokenRecord) => Response | Promise<Response>;
  const get = (path: string, handler: Handler) => {
    knownApis.add(`GET /cgi-bin${path}`);
    cgi.get(path, (c) => handler(c, c.get('token')));
  };
  const post = (path: string, handler: Handler) => {
    knownApis.add(`POST /cgi-bin${path}`);
    cgi.post(path, (c) => handler(c, c.get('token')));
  };

  cgi.get('/gettoken', (c) => {
    const corpid = c.req.query('corpid');
    const secret = c.req.query('corpsecret');
    if (!corpid) fail(41002);
    if (!secret) fail(41004);
    if (corpid !== corp().corpid) fail(40013);
    let agentid: number | null;
    const owner = corp().apps.find((a) => a.secret === secret);
    if (owner) agentid = owner.agentid;
    else if (secret === corp().contactSyncSecret) agentid = null;
    else fail(40001);
    const token = issueToken(corpid, agentid);
    return ok(c, { access_token: token.token, expires_in: token.expiresAt - now() });
  });

  // Tickets: the corp ticket is limited per app and per corp, the app ticket per app (reference §2).
  get('/get_jsapi_ticket', (c, token) => {
    const owner = requireApp(token);
    if (ticketCallsSince('corp', (call) => call.agentid === owner.agentid) >= CORP_TICKET_PER_APP_PER_HOUR) fail(45009, 'corp jsapi_ticket: 100 per hour per app');
    if (ticketCallsSince('corp', (call) => call.corpid === token.corpid) >= CORP_TICKET_PER_CORP_PER_HOUR) fail(45009, 'corp jsapi_ticket: 400 per hour per corp');
    const ticket = issueTicket('corp', owner);
    return ok(c, { ticket: ticket.ticket, expires_in: TICKET_TTL });
  });

  get('/ticket/get', (c, token) => {
    if (c.req.query('type') !== 'agent_config') fail(91040);
    const owner = requireApp(token);
    if (ticketCallsSince('agent', (call) => call.agentid === owner.agentid) >= AGENT_TICKET_PER_APP_PER_HOUR) fail(45009, 'agent_config ticket: 100 per hour per app');
    const ticket = issueTicket('agent', owner);
    return ok(c, { ticket: ticket.ticket, expires_in: TICKET_TTL });
  });

  // ---- Identity (reference §4.2, §4.3)

  get('/auth/getuserinfo', (c, token) => {
    // The contact-sync secret may not consume codes (50001's help text).
    if (token.agentid === null) fail(50001, 'the contact-sync access_token cannot consume OAuth codes');
    const value = c.req.query('code');
    if (!value) fail(41008);
    const code = state.codes.get(value);
    const usable = code && !code.used && code.expiresAt > now() && code.corpid === token.corpid && (code.agentid === null || code.agentid === token.agentid);
    if (!code || !usable) fail(40029);
    code.used = true;

    if (code.userid !== undefined) {
      const body: JsonObject = { userid: code.userid };
      const member = findMember(code.userid);
      if (code.flow === 'oauth' && code.scope === 'snsapi_privateinfo' && member && seesMember(visibilityOf(token.agentid), member)) {
        const ticket = randomString(120, `${ALPHABET}-_`);
        state.userTickets.set(ticket, { ticket, corpid: token.corpid, agentid: token.agentid, userid: code.userid, expiresAt: now() + USER_TICKET_TTL });
        body.user_ticket = ticket;
      }
      return ok(c, body);
    }

    const body: JsonObject = { openid: code.openid ?? '' };
    const visitor = corp().visitors.find((v) => v.openid === code.openid);
    const contact = visitor?.external_userid ? findContact(visitor.external_userid) : undefined;
    // external_userid only when a follow-up member is inside the app's visible range (§4.2).
    if (contact && visibleFollowers(contact, visibilityOf(token.agentid)).length > 0) body.external_userid = contact.external_contact.external_userid;
    return ok(c, body);
  });

  post('/auth/getuserdetail', async (c, token) => {
    requireApp(token);
    const body = await readJson(c);
    const value = optString(body, 'user_ticket');
    if (!value) fail(84090);
    const ticket = state.userTickets.get(value);
    if (!ticket || ticket.agentid !== token.agentid) fail(84015);
    if (ticket.expiresAt <= now()) fail(84014);
    const member = requireVisibleMember(token, ticket.userid);
    return ok(c, {
      userid: member.userid,
      gender: member.gender,
      avatar: member.avatar,
      qr_code: member.qr_code,
      mobile: member.mobile,
      email: member.email,
      biz_mail: member.biz_mail,
      address: member.address,
    });
  });

  // ---- Directory (reference §8)

  get('/user/get', (c, token) => {
    const member = requireVisibleMember(token, c.req.query('userid'));
    return ok(c, memberView(member, token));
  });

  function requireVisibleDepartment(token: AccessTokenRecord, raw: string | undefined, missing: number): number {
    if (raw === undefined || raw === '') fail(missing);
    if (!/^\d+$/.test(raw)) fail(60123, `department id ${raw}`);
    const id = Number(raw);
    if (!corp().departments.some((d) => d.id === id)) fail(60123, `department id ${raw}`);
    if (!seesDepartment(visibilityOf(token.agentid), id)) fail(60011, `department ${id} is outside the app's visible range`);
    return id;
  }

  get('/user/list', (c, token) => {
    const id = requireVisibleDepartment(token, c.req.query('department_id'), 60127);
    const v = visibilityOf(token.agentid);
    // Not recursive: fetch_child was withdrawn; callers walk sub-departments themselves.
    const members = corp().members.filter((m) => m.department.includes(id) && seesMember(v, m));
    return ok(c, { userlist: members.map((m) => memberView(m, token)) });
  });

  post('/user/list_id', async (c, token) => {
    // Only the 通讯录同步 helper's secret may list ids (reference §8).
    if (token.agentid !== null) fail(48002, 'user/list_id needs the contact-sync secret');
    const body = await readJson(c);
    const limit = optInteger(body, 'limit') ?? 10000;
    if (limit < 1 || limit > 10000) fail(40058, 'limit must be 1..10000');
    const rows = corp().members.flatMap((m) => m.department.map((department) => ({ userid: m.userid, department })));
    const offset = decodeCursor(optString(body, 'cursor'), 'list_id');
    const page = rows.slice(offset, offset + limit);
    const next = offset + page.length < rows.length ? encodeCursor(offset + page.length, 'list_id') : '';
    return ok(c, { next_cursor: next, dept_user: page });
  });

  get('/department/list', (c, token) => {
    const v = visibilityOf(token.agentid);
    const raw = c.req.query('id');
    let ids: Set<number>;
    if (raw === undefined || raw === '') {
      ids = new Set(corp().departments.filter((d) => seesDepartment(v, d.id)).map((d) => d.id));
    } else {
      const root = requireVisibleDepartment(token, raw, 60123);
      ids = new Set([...subtree(root)].filter((id) => seesDepartment(v, id)));
    }
    const department = corp().departments
      .filter((d) => ids.has(d.id))
      .map((d) => ({ id: d.id, name: d.name, name_en: d.name_en, department_leader: d.department_leader, parentid: d.parentid, order: d.order }));
    return ok(c, { department });
  });

  // ---- Customer contact (reference §7). The middleware above already enforced 48002.

  get('/externalcontact/get_follow_user_list', (c, token) => {
    const v = visibilityOf(token.agentid);
    const followUser = corp().members.filter((m) => m.customerContact && seesMember(v, m)).map((m) => m.userid);
    return ok(c, { follow_user: followUser });
  });

  get('/externalcontact/list', (c, token) => {
    const member = requireVisibleMember(token, c.req.query('userid'));
    const ids = corp()
      .externalContacts.filter((e) => e.follow_user.some((f) => f.userid === member.userid))
      .map((e) => e.external_contact.external_userid);
    // A member with no customers is an error, not an empty list (reference §7, [C-84061]).
    if (ids.length === 0) fail(84061);
    return ok(c, { external_userid: ids });
  });

  get('/externalcontact/get', (c, token) => {
    const id = c.req.query('external_userid');
    if (!id) fail(41035);
    const contact = findContact(id);
    if (!contact) fail(40096);
    const followers = visibleFollowers(contact, visibilityOf(token.agentid));
    // No follow-up member the app can see: the app has no relation with this customer (UNCONFIRMED code).
    if (followers.length === 0) fail(84061);
    // Follow users are paged only beyond 500; a cursor the simulator never issued is refused.
    decodeCursor(c.req.query('cursor'), `get:${id}`);
    return ok(c, { external_contact: contactView(contact), follow_user: followers.map(followView), next_cursor: '' });
  });

  post('/externalcontact/batch/get_by_user', async (c, token) => {
    const body = await readJson(c);
    const userids = optStringList(body, 'userid_list');
    if (!userids || userids.length === 0) fail(41009, 'userid_list is empty');
    if (userids.length > 100) fail(40058, 'userid_list holds at most 100 userids');
    const limit = optInteger(body, 'limit') ?? 50;
    if (limit < 1 || limit > 100) fail(40058, 'limit must be 1..100');
    for (const userid of userids) requireVisibleMember(token, userid);
    const rows: JsonObject[] = [];
    for (const userid of userids) {
      const mine = corp()
        .externalContacts.flatMap((contact) => contact.follow_user.filter((f) => f.userid === userid).map((follow) => ({ contact, follow })))
        .sort((a, b) => a.follow.createtime - b.follow.createtime);
      for (const { contact, follow } of mine) rows.push({ external_contact: contactView(contact), follow_info: followInfoView(follow) });
    }
    const boundTo = `batch:${userids.join(',')}`;
    const offset = decodeCursor(optString(body, 'cursor'), boundTo);
    const page = rows.slice(offset, offset + limit);
    const next = offset + page.length < rows.length ? encodeCursor(offset + page.length, boundTo) : '';
    return ok(c, { external_contact_list: page, next_cursor: next });
  });

  post('/externalcontact/remark', async (c, token) => {
    const body = await readJson(c);
    const userid = optString(body, 'userid');
    const externalUserid = optString(body, 'external_userid');
    const remark = optString(body, 'remark');
    const description = optString(body, 'description');
    const remarkCompany = optString(body, 'remark_company');
    const remarkMobiles = optStringList(body, 'remark_mobiles');
    const remarkPic = optString(body, 'remark_pic_mediaid');
    if (!userid) fail(41009);
    if (!externalUserid) fail(41035);
    // An empty string counts as "not given": all five empty is refused (reference §7; UNCONFIRMED for "").
    if (!remark && !description && !remarkCompany && (!remarkMobiles || remarkMobiles.length === 0) && !remarkPic) {
      fail(40058, 'remark, description, remark_company, remark_mobiles and remark_pic_mediaid are all empty');
    }
    if (remark && charLength(remark) > 20) fail(40058, 'remark is longer than 20 characters');
    if (description && charLength(description) > 150) fail(40058, 'description is longer than 150 characters');
    if (remarkCompany && charLength(remarkCompany) > 20) fail(40058, 'remark_company is longer than 20 characters');
    const member = requireVisibleMember(token, userid);
    const contact = findContact(externalUserid);
    if (!contact) fail(40096);
    const follow = contact.follow_user.find((f) => f.userid === member.userid);
    if (!follow) fail(84061, `${member.userid} does not follow ${externalUserid}`);
    // The simulator has no media upload, so no media id can be valid.
    if (remarkPic) fail(40007, 'remark_pic_mediaid');

    if (remark) follow.remark = remark;
    if (description) follow.description = description;
    // remark_company only takes effect for WeChat customers (type 1).
    if (remarkCompany && contact.external_contact.type === 1) follow.remark_corp_name = remarkCompany;
    // remark_mobiles replaces the whole list; [""] clears it.
    if (remarkMobiles && remarkMobiles.length > 0) follow.remark_mobiles = remarkMobiles.filter((m) => m !== '');
    return ok(c);
  });

  post('/externalcontact/get_corp_tag_list', async (c) => {
    const body = await readJson(c);
    const groupIds = optStringList(body, 'group_id') ?? [];
    const tagIds = optStringList(body, 'tag_id') ?? [];
    const groups = corp().corpTags.flatMap((group): JsonObject[] => {
      const view = (tags: typeof group.tag): JsonObject => ({
        group_id: group.group_id,
        group_name: group.group_name,
        create_time: group.create_time,
        order: group.order,
        tag: tags.map((t) => ({ id: t.id, name: t.name, create_time: t.create_time, order: t.order })),
      });
      // With both filters WeCom ignores tag_id and filters by group_id only.
      if (groupIds.length > 0) return groupIds.includes(group.group_id) ? [view(group.tag)] : [];
      if (tagIds.length > 0) {
        const tags = group.tag.filter((t) => tagIds.includes(t.id));
        return tags.length > 0 ? [view(tags)] : [];
      }
      return [view(group.tag)];
    });
    return ok(c, { tag_group: groups });
  });

  post('/externalcontact/groupchat/get', async (c, token) => {
    const body = await readJson(c);
    const chatId = optString(body, 'chat_id');
    if (!chatId) fail(40058, 'chat_id is required');
    const needName = optInteger(body, 'need_name') === 1;
    const chat = corp().groupChats.find((g) => g.chat_id === chatId);
    if (!chat) fail(40050);
    // Only chats whose owner the app can see (UNCONFIRMED code).
    const owner = findMember(chat.owner);
    if (!owner || !seesMember(visibilityOf(token.agentid), owner)) fail(60011, 'the chat owner is outside the visible range');
    const memberList = chat.member_list.map((m) => {
      const view: JsonObject = { userid: m.userid, type: m.type, join_time: m.join_time, join_scene: m.join_scene, group_nickname: m.group_nickname };
      if (m.invitor) view.invitor = { userid: m.invitor.userid };
      if (needName) view.name = m.name;
      if (m.type === 2 && m.unionid && corp().wechatDeveloperIdBound) view.unionid = m.unionid;
      return view;
    });
    return ok(c, {
      group_chat: {
        chat_id: chat.chat_id,
        name: chat.name,
        owner: chat.owner,
        create_time: chat.create_time,
        notice: chat.notice,
        member_list: memberList,
        admin_list: chat.admin_list.map((a) => ({ userid: a.userid })),
      },
    });
  });

  // ---- Application messages

  const MSGTYPES = new Set(['text', 'image', 'voice', 'video', 'file', 'textcard', 'news', 'mpnews', 'markdown', 'miniprogram_notice', 'template_card']);

  post('/message/send', async (c, token) => {
    const owner = requireApp(token);
    const body = await readJson(c);
    const agentid = optInteger(body, 'agentid');
    if (agentid === undefined) fail(41011);
    if (agentid !== owner.agentid) fail(301002, `agentid ${agentid} is not the app of this access_token`);
    const split = (key: string) => (optString(body, key) ?? '').split('|').filter((s) => s !== '');
    const touser = split('touser');
    const toparty = split('toparty');
    const totag = split('totag');
    if (touser.length === 0 && toparty.length === 0 && totag.length === 0) fail(82001);
    const msgtype = optString(body, 'msgtype');
    if (!msgtype || !MSGTYPES.has(msgtype)) fail(40008);
    const content = body[msgtype];
    if (typeof content !== 'object' || content === null || Array.isArray(content)) fail(40058, `${msgtype} body is missing`);
    if (msgtype === 'text') {
      const text = content.content;
      if (typeof text !== 'string' || text === '') fail(44004);
      if (new TextEncoder().encode(text).length > 2048) fail(45002, 'text content is longer than 2048 bytes');
    }

    const v = visibilityOf(owner.agentid);
    const recipients = new Set<string>();
    const invalidUser: string[] = [];
    const invalidParty: string[] = [];
    for (const userid of touser) {
      if (userid === '@all') {
        for (const m of corp().members) if (seesMember(v, m)) recipients.add(m.userid);
        continue;
      }
      const member = findMember(userid);
      if (member && seesMember(v, member)) recipients.add(userid);
      else invalidUser.push(userid);
    }
    for (const raw of toparty) {
      const id = Number(raw);
      if (!/^\d+$/.test(raw) || !seesDepartment(v, id) || !corp().departments.some((d) => d.id === id)) {
        invalidParty.push(raw);
        continue;
      }
      const below = subtree(id);
      for (const m of corp().members) if (m.department.some((d) => below.has(d)) && seesMember(v, m)) recipients.add(m.userid);
    }
    // The demo corp has no directory tags, so every tag id is invalid.
    const invalidTag = totag;
    if (recipients.size === 0) fail(81013);

    const msgid = randomString(40, `${ALPHABET}-_`);
    state.messages.push({ msgid, receivedAt: now(), agentid: owner.agentid, touser: [...recipients], invaliduser: invalidUser, msgtype, request: body });
    return ok(c, {
      invaliduser: invalidUser.join('|'),
      invalidparty: invalidParty.join('|'),
      invalidtag: invalidTag.join('|'),
      unlicenseduser: '',
      msgid,
      response_code: '',
    });
  });

  app.route('/cgi-bin', cgi);

  // ---------------------------------------------------------------------------------------------
  // OAuth stand-ins: pages a person uses in a plain browser during `npm run dev`.

  function page(title: string, body: string, status: 200 | 400 = 200): Response {
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

  // ---------------------------------------------------------------------------------------------
  // Control API for tests (`/__sim/*`). Refusals here are plain 400s: this is not WeCom.

  app.use('/__sim/*', cors());
  app.route('/__sim/jssdk', jssdkVerifier({ tickets: () => state.tickets, modes: () => state.modes, now }));

  const refuse = (c: Ctx, message: string) => c.json({ error: 'bad_request', message }, 400);

  async function controlBody(c: Ctx): Promise<JsonObject | undefined> {
    try {
      return await readJson(c);
    } catch {
      return undefined;
    }
  }

  app.post('/__sim/reset', async (c) => {
    const body = await controlBody(c);
    reset({ forgetTokens: body?.forgetTokens === true });
    return c.json({ ok: true });
  });

  app.get('/__sim/calls', (c) => c.json(state.calls));
  app.post('/__sim/calls/reset', (c) => {
    state.calls = {};
    return c.json({ ok: true });
  });

  app.get('/__sim/clock', (c) => c.json({ now: now(), offsetSeconds: state.clockOffsetSeconds }));
  app.post('/__sim/clock', async (c) => {
    const body = await controlBody(c);
    const seconds = body?.advanceSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return refuse(c, 'advanceSeconds must be a number >= 0');
    state.clockOffsetSeconds += Math.floor(seconds);
    return c.json({ now: now(), offsetSeconds: state.clockOffsetSeconds });
  });

  app.post('/__sim/tokens/invalidate', (c) => {
    let invalidated = 0;
    for (const token of state.tokens) {
      if (!token.invalidated) {
        token.invalidated = true;
        invalidated++;
      }
    }
    return c.json({ invalidated });
  });

  app.get('/__sim/faults', (c) => c.json({ faults: state.faults }));
  app.delete('/__sim/faults', (c) => {
    state.faults = [];
    return c.json({ ok: true });
  });
  app.post('/__sim/faults', async (c) => {
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

  app.get('/__sim/mode', (c) => c.json(state.modes));
  app.post('/__sim/mode', async (c) => {
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

  app.get('/__sim/messages', (c) => c.json({ messages: state.messages }));

  app.post('/__sim/oauth/code', async (c) => {
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
      const refusal = pickRefusal(request, member);
      if (refusal) return refuse(c, refusal);
      return c.json({ code: issueCode(request, { userid }) });
    }
    if (typeof openid === 'string') {
      if (!corp().visitors.some((v) => v.openid === openid)) return refuse(c, `no visitor ${openid}`);
      return c.json({ code: issueCode(request, { openid }) });
    }
    return refuse(c, 'give userid (a member), openid (a visitor) or visitor: true');
  });

  // Lets a JS-SDK stand-in in the browser check a signature the way the WeCom client would (§3.1).
  app.post('/__sim/jssdk/verify', async (c) => {
    const body = await controlBody(c);
    if (!body) return refuse(c, 'body must be a JSON object');
    const { kind, url, nonceStr, signature } = body;
    const timestamp = typeof body.timestamp === 'number' ? String(body.timestamp) : body.timestamp;
    if (kind !== 'config' && kind !== 'agentConfig') return refuse(c, 'kind must be config or agentConfig');
    if (typeof url !== 'string' || typeof timestamp !== 'string' || typeof nonceStr !== 'string' || typeof signature !== 'string') {
      return refuse(c, 'url, timestamp, nonceStr and signature are required');
    }
    const agentid = body.agentid === undefined ? undefined : Number(body.agentid);
    const at = now();
    const candidates = state.tickets.filter(
      (t) => t.kind === (kind === 'config' ? 'corp' : 'agent') && t.expiresAt > at && (kind === 'config' || agentid === undefined || t.agentid === agentid),
    );
    for (const ticket of candidates) {
      const plain = `jsapi_ticket=${ticket.ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url}`;
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(plain)));
      const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
      if (hex === signature) return c.json({ ok: true, errMsg: `${kind}:ok` });
    }
    return c.json({ ok: false, errMsg: `${kind}:invalid signature` });
  });

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
<p class="note">测试控制接口：/__sim/reset, /__sim/calls, /__sim/clock, /__sim/tokens/invalidate, /__sim/faults, /__sim/mode, /__sim/messages, /__sim/oauth/code, /__sim/jssdk/verify</p>`,
    );
  });

  app.notFound((c) =>
    c.json({ errcode: -1, errmsg: `simulator: no ${c.req.method} ${c.req.path} (not a WeCom API the simulator implements)` }, 404),
  );

  return { app, state, reset, now };
}

function defaultModes(): SimulatorModes {
  return { untrustedIp: false, noContactPermission: false, emptyVisibleRange: false, trustedDomains: null };
}

export type Simulator = ReturnType<typeof createSimulator>;
