/**
 * @module
 * The one typed WeCom API client: the only place that builds WeCom URLs, checks `errcode`,
 * refreshes a refused token and retries.
 *
 * Rules every call follows, so no caller has to remember them:
 * - A token refused with 40014/42001/40001 is reported to the token source (which fetches one new
 *   token however many calls report the same stale one) and the call is retried once; a second
 *   refusal surfaces. Retrying after a refusal is safe even for writes: WeCom refused before acting.
 * - Reads (GETs and the documented read POSTs) are retried twice with a short backoff on timeouts,
 *   network errors, 5xx and errcode -1. Writes (remark, mark_tag, the tag library, message/send) are never retried blindly:
 *   a timeout says nothing about whether WeCom already acted.
 * - Rate limits (45009/45033) are not retried: retrying only extends WeCom's block.
 * - URLs carry the access token or the secret, so they are never logged; log lines carry the
 *   endpoint, corp, agent, errcode and duration.
 */
import type { Config, WeComApp } from '../env.ts';
import { log } from '../log.ts';
import { GETTOKEN_ENDPOINT, WeComError, WeComTransportError, isTokenRefusal, type WeComCallSite } from './errors.ts';
import type {
  AccessTokenReply,
  AddCorpTagReply,
  AddCorpTagRequest,
  BatchByUserReply,
  BatchByUserRequest,
  CorpTagListReply,
  DelCorpTagRequest,
  DepartmentListReply,
  EditCorpTagRequest,
  ExternalContactListReply,
  ExternalContactReply,
  FollowUserListReply,
  GroupChatReply,
  MarkTagRequest,
  MessageRequest,
  MessageSendReply,
  RemarkRequest,
  TicketReply,
  UserDetailReply,
  UserInfoReply,
  UserListReply,
  UserReply,
  WeComReply,
} from './replies.ts';

/** Where the client gets access tokens; in production the token broker, read through tokens.ts. */
export interface TokenSource {
  /** A token believed valid. */
  accessToken(): Promise<string>;
  /** WeCom refused `stale`: a newer token, fetched at most once however many callers report the same stale one. */
  refreshAccessToken(stale: string): Promise<string>;
}

export type WeComAppIdentity = Pick<WeComApp, 'corpId' | 'agentId' | 'secret'>;

/** What every call needs except tokens: gettoken uses this alone. */
export interface WeComTransportDeps {
  /** `WECOM_API_BASE`; a path prefix (an egress proxy mounting WeCom under `/wecom`) is kept. */
  base: string;
  app: WeComAppIdentity;
  fetch?: typeof fetch;
  /** Per attempt. */
  timeoutMs?: number;
  /** Sent as `X-Proxy-Token` so the fixed-IP egress proxy can refuse strangers. */
  proxyToken?: string;
  /** Pauses before the read retries; its length is the number of retries. */
  retryDelaysMs?: readonly number[];
}

/** The transport as configured: `WECOM_API_BASE`, plus the egress proxy's token when one is set. */
export function transportFor(
  config: Pick<Config, 'apiBase' | 'apiProxyToken'>,
  app: WeComAppIdentity,
  options: Pick<WeComTransportDeps, 'fetch' | 'timeoutMs' | 'retryDelaysMs'> = {},
): WeComTransportDeps {
  const deps: WeComTransportDeps = { ...options, base: config.apiBase, app };
  if (config.apiProxyToken) deps.proxyToken = config.apiProxyToken;
  return deps;
}

export interface WeComClientDeps extends WeComTransportDeps {
  tokens: TokenSource;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
// WeCom asks for at most 3 attempts on -1; two short pauses keep a sidebar request under a few seconds.
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [150, 500];

export interface WeComClient {
  readonly corpId: string;
  readonly agentId: string;
  /** The corp ticket, for `wx.config` signatures. Limit: 400/h per corp, 100/h per app. */
  getJsapiTicket(): Promise<TicketReply>;
  /** The app ticket, for `wx.agentConfig` signatures. Limit: 100/h per app. */
  getAgentConfigTicket(): Promise<TicketReply>;
  getUserInfo(code: string): Promise<UserInfoReply>;
  getUserDetail(userTicket: string): Promise<UserDetailReply>;
  getUser(userid: string): Promise<UserReply>;
  listUsers(departmentId: number): Promise<UserListReply>;
  /** Needs the contacts-sync secret. */
  listDepartments(id?: number): Promise<DepartmentListReply>;
  getExternalContact(externalUserId: string, cursor?: string): Promise<ExternalContactReply>;
  getFollowUserList(): Promise<FollowUserListReply>;
  listExternalContacts(userid: string): Promise<ExternalContactListReply>;
  batchGetExternalContactsByUser(request: BatchByUserRequest): Promise<BatchByUserReply>;
  /** A write: never retried after a timeout or a 5xx. */
  remarkExternalContact(request: RemarkRequest): Promise<WeComReply>;
  getGroupChat(chatId: string, needName?: boolean): Promise<GroupChatReply>;
  /** The corp tag library (a read POST); no ids: all of it. */
  getCorpTagList(filter?: { tag_id?: string[]; group_id?: string[] }): Promise<CorpTagListReply>;
  /** Writes, never retried after a timeout or a 5xx: corp tags on one member's relationship, and the library. */
  markTag(request: MarkTagRequest): Promise<WeComReply>;
  addCorpTag(request: AddCorpTagRequest): Promise<AddCorpTagReply>;
  editCorpTag(request: EditCorpTagRequest): Promise<WeComReply>;
  delCorpTag(request: DelCorpTagRequest): Promise<WeComReply>;
  /** A write: never retried after a timeout or a 5xx. */
  sendMessage(message: MessageRequest): Promise<MessageSendReply>;
}

// ---------------------------------------------------------------------------------------------
// Transport

interface CallSpec {
  endpoint: string;
  method: 'GET' | 'POST';
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Reads retry transient failures; writes never do. */
  read: boolean;
}

type Query = Record<string, string | undefined>;

function cgiUrl(base: string, endpoint: string, query: Query): URL {
  // `new URL('/cgi-bin/…', base)` would drop a proxy's path prefix; concatenation keeps it.
  const url = new URL(`${base.replace(/\/+$/, '')}/cgi-bin/${endpoint}`);
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
  return url;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errcodeOf(reply: WeComReply): number {
  return typeof reply.errcode === 'number' ? reply.errcode : 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function createTransport(deps: WeComTransportDeps) {
  const doFetch = deps.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const delays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const site = (endpoint: string): WeComCallSite => ({ endpoint, corpId: deps.app.corpId, agentId: deps.app.agentId });

  /** One HTTP exchange: a parsed WeCom reply (maybe with a non-zero errcode), or a transport error. */
  async function attempt(spec: CallSpec, query: Query): Promise<WeComReply> {
    const headers = new Headers({ accept: 'application/json' });
    if (deps.proxyToken) headers.set('x-proxy-token', deps.proxyToken);
    const init: RequestInit = { method: spec.method, headers, signal: AbortSignal.timeout(timeoutMs) };
    if (spec.body !== undefined) {
      headers.set('content-type', 'application/json');
      init.body = JSON.stringify(spec.body);
    }
    let response: Response;
    let text: string;
    try {
      response = await doFetch(cgiUrl(deps.base, spec.endpoint, query), init);
      text = await response.text();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new WeComTransportError('timeout', site(spec.endpoint), `no answer within ${timeoutMs} ms`);
      }
      throw new WeComTransportError('network', site(spec.endpoint), `network error (${error instanceof Error ? error.message : String(error)})`);
    }
    if (response.status < 200 || response.status > 299) {
      throw new WeComTransportError('http_status', site(spec.endpoint), `HTTP ${response.status}`, response.status);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isObject(parsed)) {
      throw new WeComTransportError('bad_response', site(spec.endpoint), `the answer is not a JSON object (HTTP ${response.status}, ${text.length} bytes)`, response.status);
    }
    return parsed as WeComReply;
  }

  function retryable(error: unknown): boolean {
    if (error instanceof WeComError) return error.errcode === -1;
    if (error instanceof WeComTransportError) {
      return error.reason === 'timeout' || error.reason === 'network' || (error.reason === 'http_status' && (error.upstreamStatus ?? 0) >= 500);
    }
    return false;
  }

  /** A call with the read retries; a non-zero errcode other than -1 is returned, not thrown, so the caller can judge token refusals. */
  async function send(spec: CallSpec, query: Query): Promise<WeComReply> {
    for (let attemptNo = 0; ; attemptNo++) {
      const started = Date.now();
      try {
        const reply = await attempt(spec, query);
        const errcode = errcodeOf(reply);
        log(errcode === 0 ? 'info' : 'warn', 'wecom.call', {
          endpoint: spec.endpoint,
          corpId: deps.app.corpId,
          agentId: deps.app.agentId,
          errcode,
          ms: Date.now() - started,
          attempt: attemptNo + 1,
        });
        if (errcode === -1) throw new WeComError(-1, reply.errmsg ?? '', site(spec.endpoint));
        return reply;
      } catch (error) {
        if (error instanceof WeComTransportError) {
          log('warn', 'wecom.call', {
            endpoint: spec.endpoint,
            corpId: deps.app.corpId,
            agentId: deps.app.agentId,
            error: error.code,
            status: error.upstreamStatus,
            ms: Date.now() - started,
            attempt: attemptNo + 1,
          });
        }
        const delay = delays[attemptNo];
        if (!spec.read || delay === undefined || !retryable(error)) throw error;
        // Jitter so that isolates failing together do not retry together.
        await sleep(delay * (0.75 + Math.random() * 0.5));
      }
    }
  }

  function fail(spec: CallSpec, reply: WeComReply): never {
    throw new WeComError(errcodeOf(reply), reply.errmsg ?? '', site(spec.endpoint));
  }

  return { send, fail, site };
}

function requireString(reply: WeComReply, field: 'access_token' | 'ticket', site: WeComCallSite): void {
  const record = reply as Record<string, unknown>;
  if (typeof record[field] !== 'string' || record[field] === '' || typeof record.expires_in !== 'number' || record.expires_in <= 0) {
    throw new WeComTransportError('bad_response', site, `the answer has no ${field} and expires_in`);
  }
}

/**
 * `gettoken`, for token sources only. 40001/40013/40091 here mean the configured credentials are
 * wrong: a configuration error (503) that no refresh can fix.
 */
export async function fetchAccessToken(deps: WeComTransportDeps): Promise<AccessTokenReply> {
  const transport = createTransport(deps);
  const spec: CallSpec = { endpoint: GETTOKEN_ENDPOINT, method: 'GET', read: true };
  const reply = await transport.send(spec, { corpid: deps.app.corpId, corpsecret: deps.app.secret });
  if (errcodeOf(reply) !== 0) transport.fail(spec, reply);
  requireString(reply, 'access_token', transport.site(spec.endpoint));
  return reply as AccessTokenReply;
}

export function createWeComClient(deps: WeComClientDeps): WeComClient {
  const transport = createTransport(deps);
  const { tokens } = deps;

  async function call<T extends WeComReply>(spec: CallSpec): Promise<T> {
    const token = await tokens.accessToken();
    let reply = await transport.send(spec, { ...spec.query, access_token: token });
    if (isTokenRefusal(errcodeOf(reply))) {
      log('warn', 'wecom.token_refused', { endpoint: spec.endpoint, corpId: deps.app.corpId, agentId: deps.app.agentId, errcode: errcodeOf(reply) });
      const fresh = await tokens.refreshAccessToken(token);
      // Once only: a second refusal surfaces instead of looping (WxJava's doNotAutoRefresh).
      reply = await transport.send(spec, { ...spec.query, access_token: fresh });
    }
    if (errcodeOf(reply) !== 0) transport.fail(spec, reply);
    return reply as T;
  }

  const get = <T extends WeComReply>(endpoint: string, query: Query = {}) => call<T>({ endpoint, method: 'GET', query, read: true });
  const readPost = <T extends WeComReply>(endpoint: string, body: unknown) => call<T>({ endpoint, method: 'POST', body, read: true });
  const write = <T extends WeComReply>(endpoint: string, body: unknown) => call<T>({ endpoint, method: 'POST', body, read: false });

  async function ticket(endpoint: string, query: Query): Promise<TicketReply> {
    const reply = await get<TicketReply>(endpoint, query);
    requireString(reply, 'ticket', transport.site(endpoint));
    return reply;
  }

  return {
    corpId: deps.app.corpId,
    agentId: deps.app.agentId,
    getJsapiTicket: () => ticket('get_jsapi_ticket', {}),
    getAgentConfigTicket: () => ticket('ticket/get', { type: 'agent_config' }),
    // A code is single use: if an answer is lost, a blind retry would only meet 40029 and hide the real failure.
    getUserInfo: (code) => call<UserInfoReply>({ endpoint: 'auth/getuserinfo', method: 'GET', query: { code }, read: false }),
    getUserDetail: (userTicket) => readPost<UserDetailReply>('auth/getuserdetail', { user_ticket: userTicket }),
    getUser: (userid) => get<UserReply>('user/get', { userid }),
    listUsers: (departmentId) => get<UserListReply>('user/list', { department_id: String(departmentId) }),
    listDepartments: (id) => get<DepartmentListReply>('department/list', { id: id === undefined ? undefined : String(id) }),
    getExternalContact: (externalUserId, cursor) => get<ExternalContactReply>('externalcontact/get', { external_userid: externalUserId, cursor }),
    getFollowUserList: () => get<FollowUserListReply>('externalcontact/get_follow_user_list'),
    listExternalContacts: (userid) => get<ExternalContactListReply>('externalcontact/list', { userid }),
    batchGetExternalContactsByUser: (request) => readPost<BatchByUserReply>('externalcontact/batch/get_by_user', request),
    remarkExternalContact: (request) => write<WeComReply>('externalcontact/remark', request),
    getGroupChat: (chatId, needName = false) => readPost<GroupChatReply>('externalcontact/groupchat/get', { chat_id: chatId, need_name: needName ? 1 : 0 }),
    getCorpTagList: (filter = {}) => readPost<CorpTagListReply>('externalcontact/get_corp_tag_list', filter),
    markTag: (request) => write<WeComReply>('externalcontact/mark_tag', request),
    addCorpTag: (request) => write<AddCorpTagReply>('externalcontact/add_corp_tag', request),
    editCorpTag: (request) => write<WeComReply>('externalcontact/edit_corp_tag', request),
    delCorpTag: (request) => write<WeComReply>('externalcontact/del_corp_tag', request),
    sendMessage: (message) => write<MessageSendReply>('message/send', { ...message, agentid: Number(deps.app.agentId) }),
  };
}
