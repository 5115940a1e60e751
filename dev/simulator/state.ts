/**
 * @module
 * What the simulator remembers: the corp (a clone of the fixture, so tests may change it), the
 * tokens, tickets and codes it issued, injected faults, modes, sent messages and call counts; the
 * reset that returns to the fixture; the clock every lifetime is measured on; lookups in the corp.
 */
import {
  demoCorp,
  type DemoApp,
  type DemoCorp,
  type DemoExternalContact,
  type DemoMember,
} from '../fixtures/demo-corp.ts';

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
  /** Recipients who received it (messages.ts): not those over the per-member limits, nobody for a duplicate. */
  delivered: string[];
  /** Recipients WeCom dropped it for: over 30 a minute or 1,000 an hour from this app. */
  dropped: string[];
  /** textcard fields WeCom cut to its byte limits. */
  truncated: string[];
  /** With `enable_duplicate_check`: the earlier message this one repeats; nobody received it. */
  duplicateOf?: string;
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

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The state with its clock, reset and lookups: what every other module of the simulator is given. */
export interface SimCore {
  state: SimulatorState;
  reset(opts?: { forgetTokens?: boolean }): void;
  /** The simulator's clock in Unix seconds: every lifetime and hourly window is measured on it. */
  now(): number;
  corp(): DemoCorp;
  /** A department and everything below it, as WeCom expands departments in ranges and recipients. */
  subtree(rootId: number): Set<number>;
  findApp(agentid: number | null | undefined): DemoApp | undefined;
  findMember(userid: string): DemoMember | undefined;
  findContact(externalUserid: string): DemoExternalContact | undefined;
}

export function defaultModes(): SimulatorModes {
  return { untrustedIp: false, noContactPermission: false, emptyVisibleRange: false, trustedDomains: null };
}

export function createState(options: SimulatorOptions = {}): SimCore {
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

  function now(): number {
    return Math.floor(wallClock() / 1000) + state.clockOffsetSeconds;
  }

  const corp = () => state.corp;

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

  return {
    state,
    reset,
    now,
    corp,
    subtree,
    findApp: (agentid) => (agentid == null ? undefined : corp().apps.find((a) => a.agentid === agentid)),
    findMember: (userid) => corp().members.find((m) => m.userid === userid),
    findContact: (externalUserid) => corp().externalContacts.find((e) => e.external_contact.external_userid === externalUserid),
  };
}
