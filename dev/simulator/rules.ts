/**
 * @module
 * WeCom's rules as the simulator enforces them (as WeCom documents them): which
 * secret gets which access token and for how long, jsapi tickets and their hourly limits, OAuth
 * codes and user tickets and their lifetimes, the app's visible range, the 客户联系 permission.
 * Route handlers call these and shape JSON; a rule that refuses throws a WeCom failure (errors.ts).
 */
import type { DemoApp, DemoExternalContact, DemoFollowUser, DemoMember } from '../fixtures/demo-corp.ts';
import { fail } from './errors.ts';
import type { AccessTokenRecord, JsapiTicketRecord, OAuthCodeRecord, OAuthScope, SimCore, TicketCall } from './state.ts';
import { randomString, TOKEN_ALPHABET } from './util.ts';

// WeCom's lifetimes and limits (docs/wecom.md §0, §1, §2, §4).
export const TOKEN_TTL = 7200;
export const TICKET_TTL = 7200;
export const CODE_TTL = 300;
export const USER_TICKET_TTL = 1800;
const HOUR = 3600;
const CORP_TICKET_PER_APP_PER_HOUR = 100;
const CORP_TICKET_PER_CORP_PER_HOUR = 400;
const AGENT_TICKET_PER_APP_PER_HOUR = 100;
/** Apps created from this day on lose sensitive member fields and must call from a trusted IP. */
export const NEW_APP_RULES_FROM = '2022-06-20';

// ---- Visible range (应用可见范围): departments bring their whole subtree along (docs/wecom.md §7, 60011).

export interface Visibility {
  all: boolean;
  departments: Set<number>;
  users: Set<string>;
}

export const seesDepartment = (v: Visibility, id: number) => v.all || v.departments.has(id);
export const seesMember = (v: Visibility, m: DemoMember) => v.all || v.users.has(m.userid) || m.department.some((d) => v.departments.has(d));

/** What an authorize link or the code it yields was issued for. */
export interface CodeGrant {
  agentid: number | null;
  scope: OAuthScope;
  flow: 'oauth' | 'sso';
}

export function createRules(core: SimCore) {
  const { state, now, corp, subtree, findApp, findMember } = core;

  function visibilityOf(agentid: number | null): Visibility {
    // The 通讯录同步 helper sees the whole directory.
    if (agentid === null) return { all: true, departments: new Set(), users: new Set() };
    const app = findApp(agentid);
    const departments = new Set<number>();
    if (!app || state.modes.emptyVisibleRange) return { all: false, departments, users: new Set() };
    for (const id of app.visibleRange.departments) for (const inRange of subtree(id)) departments.add(inRange);
    return { all: false, departments, users: new Set(app.visibleRange.users) };
  }

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

  function requireVisibleDepartment(token: AccessTokenRecord, raw: string | undefined, missing: number): number {
    if (raw === undefined || raw === '') fail(missing);
    if (!/^\d+$/.test(raw)) fail(60123, `department id ${raw}`);
    const id = Number(raw);
    if (!corp().departments.some((d) => d.id === id)) fail(60123, `department id ${raw}`);
    if (!seesDepartment(visibilityOf(token.agentid), id)) fail(60011, `department ${id} is outside the app's visible range`);
    return id;
  }

  function visibleFollowers(contact: DemoExternalContact, v: Visibility): DemoFollowUser[] {
    return contact.follow_user.filter((f) => {
      const member = findMember(f.userid);
      return member !== undefined && seesMember(v, member);
    });
  }

  // ---- Access tokens (docs/wecom.md §1)

  function issueToken(corpid: string, agentid: number | null): AccessTokenRecord {
    const at = now();
    // "有效期内重复获取返回相同结果" (WeCom doc 91039 as of 2020, docs/wecom.md §1): hand back the live token, with its remaining life.
    const live = state.tokens.find((t) => t.corpid === corpid && t.agentid === agentid && !t.invalidated && t.expiresAt > at);
    if (live) return live;
    const record: AccessTokenRecord = { token: randomString(160, TOKEN_ALPHABET), corpid, agentid, issuedAt: at, expiresAt: at + TOKEN_TTL, invalidated: false };
    state.tokens.push(record);
    return record;
  }

  /** gettoken: an app's secret gets that app's token, the 通讯录同步 secret one that belongs to no app. */
  function grantToken(corpid: string | undefined, secret: string | undefined): AccessTokenRecord {
    if (!corpid) fail(41002);
    if (!secret) fail(41004);
    if (corpid !== corp().corpid) fail(40013);
    let agentid: number | null;
    const owner = corp().apps.find((a) => a.secret === secret);
    if (owner) agentid = owner.agentid;
    else if (secret === corp().contactSyncSecret) agentid = null;
    else fail(40001);
    return issueToken(corpid, agentid);
  }

  /** The access_token every API but gettoken needs. */
  function checkToken(value: string | undefined): AccessTokenRecord {
    if (!value) fail(41001);
    const token = state.tokens.find((t) => t.token === value);
    if (!token || token.invalidated || token.corpid !== corp().corpid) fail(40014);
    if (token.expiresAt <= now()) fail(42001);
    return token;
  }

  /** Customer APIs need an app listed under 客户联系 → 可调用接口的应用 (48002, docs/wecom.md §7). */
  function requireContactPermission(token: AccessTokenRecord): void {
    const owner = findApp(token.agentid);
    if (!owner || !owner.customerContactApp || state.modes.noContactPermission) fail(48002);
  }

  // ---- jsapi tickets: the corp ticket is limited per app and per corp, the app ticket per app (docs/wecom.md §2).

  function ticketCallsSince(kind: 'corp' | 'agent', match: (call: TicketCall) => boolean): number {
    const since = now() - HOUR;
    return state.ticketCalls.filter((call) => call.kind === kind && call.at > since && match(call)).length;
  }

  function issueTicket(kind: 'corp' | 'agent', app: DemoApp): JsapiTicketRecord {
    const at = now();
    state.ticketCalls.push({ kind, corpid: corp().corpid, agentid: app.agentid, at });
    const record: JsapiTicketRecord = { ticket: randomString(86, TOKEN_ALPHABET), kind, corpid: corp().corpid, agentid: app.agentid, expiresAt: at + TICKET_TTL };
    state.tickets.push(record);
    return record;
  }

  function issueCorpTicket(token: AccessTokenRecord, owner: DemoApp): JsapiTicketRecord {
    if (ticketCallsSince('corp', (call) => call.agentid === owner.agentid) >= CORP_TICKET_PER_APP_PER_HOUR) fail(45009, 'corp jsapi_ticket: 100 per hour per app');
    if (ticketCallsSince('corp', (call) => call.corpid === token.corpid) >= CORP_TICKET_PER_CORP_PER_HOUR) fail(45009, 'corp jsapi_ticket: 400 per hour per corp');
    return issueTicket('corp', owner);
  }

  function issueAgentTicket(owner: DemoApp): JsapiTicketRecord {
    if (ticketCallsSince('agent', (call) => call.agentid === owner.agentid) >= AGENT_TICKET_PER_APP_PER_HOUR) fail(45009, 'agent_config ticket: 100 per hour per app');
    return issueTicket('agent', owner);
  }

  // ---- OAuth codes and user tickets (docs/wecom.md §4.1, §4.2, §4.3)

  function issueCode(grant: CodeGrant, subject: { userid: string } | { openid: string }): string {
    const code = randomString(43, TOKEN_ALPHABET);
    state.codes.set(code, {
      code,
      corpid: corp().corpid,
      agentid: grant.agentid,
      scope: grant.scope,
      flow: grant.flow,
      ...subject,
      expiresAt: now() + CODE_TTL,
      used: false,
    });
    return code;
  }

  /** auth/getuserinfo: a code is good once, for its lifetime, for the app it was issued to. */
  function consumeCode(token: AccessTokenRecord, value: string | undefined): OAuthCodeRecord {
    // The contact-sync secret may not consume codes (50001's help text).
    if (token.agentid === null) fail(50001, 'the contact-sync access_token cannot consume OAuth codes');
    if (!value) fail(41008);
    const code = state.codes.get(value);
    const usable = code && !code.used && code.expiresAt > now() && code.corpid === token.corpid && (code.agentid === null || code.agentid === token.agentid);
    if (!code || !usable) fail(40029);
    code.used = true;
    return code;
  }

  /** A user_ticket only for an in-client snsapi_privateinfo code of a member the app can see. */
  function issueUserTicket(token: AccessTokenRecord, code: OAuthCodeRecord, userid: string): string | undefined {
    const agentid = token.agentid;
    // consumeCode already refused the contact-sync token; this only tells the type checker.
    if (agentid === null) return undefined;
    const member = findMember(userid);
    if (code.flow === 'oauth' && code.scope === 'snsapi_privateinfo' && member && seesMember(visibilityOf(agentid), member)) {
      const ticket = randomString(120, TOKEN_ALPHABET);
      state.userTickets.set(ticket, { ticket, corpid: token.corpid, agentid, userid, expiresAt: now() + USER_TICKET_TTL });
      return ticket;
    }
    return undefined;
  }

  /** auth/getuserdetail: the ticket must be this app's and still live. */
  function checkUserTicket(token: AccessTokenRecord, value: string | undefined): string {
    if (!value) fail(84090);
    const ticket = state.userTickets.get(value);
    if (!ticket || ticket.agentid !== token.agentid) fail(84015);
    if (ticket.expiresAt <= now()) fail(84014);
    return ticket.userid;
  }

  return {
    visibilityOf,
    requireApp,
    requireVisibleMember,
    requireVisibleDepartment,
    visibleFollowers,
    grantToken,
    checkToken,
    requireContactPermission,
    issueCorpTicket,
    issueAgentTicket,
    issueCode,
    consumeCode,
    issueUserTicket,
    checkUserTicket,
  };
}

export type Rules = ReturnType<typeof createRules>;
