/**
 * @module
 * What can go wrong between the worker and WeCom, as errors with stable codes.
 *
 * `WeComError` is a call WeCom answered with a non-zero `errcode`; its `code` is `wecom_<errcode>`
 * and it carries what the code means and what an admin must do about it. `WeComTransportError` is
 * a call that never produced a WeCom answer (timeout, network, HTTP status, a body that is not
 * JSON). Both extend `WeComFailure`, which `onError` maps to `{ error, message, errcode, hint }`:
 * 503 when the deployment itself is misconfigured (nothing works until an admin acts), 502 otherwise.
 */
import { AppError } from '../errors.ts';

/**
 * - `configuration`: the deployment is wrong (secret, corp id, permissions, trusted IP); every call fails until an admin fixes it.
 * - `token`: the access token was refused even after the one refresh the client allows itself.
 * - `rate_limited`: back off; retrying immediately only extends the block.
 * - `busy`: WeCom's transient -1; reads were already retried.
 * - `request`: this call's input (a code, a ticket, an id) is wrong; other calls are fine.
 * - `not_found`: the relation or member the call asked about does not exist for this app.
 * - `unknown`: a code this table does not know.
 */
export type WeComErrorKind = 'configuration' | 'token' | 'rate_limited' | 'busy' | 'request' | 'not_found' | 'unknown';

interface KnownCode {
  meaning: string;
  kind: WeComErrorKind;
  hint: string;
}

const TOKEN_REFUSED_HINT =
  'WeCom refused a freshly fetched access token as well. If it keeps happening, the Secret was probably reset in the admin console (update WECOM_SECRET or WECOM_APPS) or another system is fetching tokens with this secret.';

/** Codes this product meets, from WeCom's global error-code list and the customer-contact docs. */
export const KNOWN_CODES: Readonly<Record<number, KnownCode>> = {
  [-1]: { meaning: 'system busy (系统繁忙)', kind: 'busy', hint: 'WeCom was busy; read calls were already retried. Try again in a moment.' },
  40001: { meaning: 'invalid secret (不合法的secret参数)', kind: 'token', hint: TOKEN_REFUSED_HINT },
  40013: {
    meaning: 'invalid corp id (不合法的CorpID)',
    kind: 'configuration',
    hint: 'The corp id is wrong: copy 我的企业 → 企业信息 → 企业ID into WECOM_CORP_ID (or corpId in WECOM_APPS).',
  },
  40014: { meaning: 'invalid or expired access_token (不合法的access_token)', kind: 'token', hint: TOKEN_REFUSED_HINT },
  40029: {
    meaning: 'invalid login code (不合法的oauth_code)',
    kind: 'request',
    hint: 'The login code was already used, is older than 5 minutes, or belongs to another app. Start the sign-in again.',
  },
  40058: { meaning: 'invalid parameter (不合法的参数)', kind: 'request', hint: "The request does not meet the API's requirements; WeCom's errmsg names the parameter." },
  40068: {
    meaning: 'invalid tag id (不合法的标签ID)',
    kind: 'request',
    hint: 'The tag or tag group does not exist (any more): it was deleted in WeCom, or it is a personal tag, which no API can set. Reload the tag list.',
  },
  40071: {
    meaning: 'invalid tag name (不合法的标签名字)',
    kind: 'request',
    hint: 'The name is already used in that group (or by another group), or it is empty or too long. Choose another name.',
  },
  40091: {
    meaning: 'invalid secret (secret不合法)',
    kind: 'configuration',
    hint: "The Secret is not this app's: it may be another app's or another corp's. Copy the Secret shown under 应用管理 → this app into WECOM_SECRET (or the app's secret in WECOM_APPS).",
  },
  40093: { meaning: 'invalid jsapi_ticket (不合法的jsapi_ticket参数)', kind: 'request', hint: 'Sign again with fresh tickets (refresh: true).' },
  40096: {
    meaning: 'invalid external_userid (不合法的外部联系人userid)',
    kind: 'request',
    hint: 'The external_userid does not belong to this corp and app (ids differ between apps and corps).',
  },
  41001: {
    meaning: 'access_token missing (缺少access_token参数)',
    kind: 'request',
    hint: 'The call reached WeCom without its access_token. If WECOM_API_BASE points at an egress proxy, make it forward query strings unchanged.',
  },
  42001: { meaning: 'access_token expired (access_token已过期)', kind: 'token', hint: TOKEN_REFUSED_HINT },
  45009: {
    meaning: 'API call limit exceeded (接口调用超过限制)',
    kind: 'rate_limited',
    hint: 'A WeCom rate limit was hit (per corp, per IP or per app; a minute-window block lasts 60 s, an hour-window block an hour). Back off. Never leave debug=1 in a URL: it caps an API at 5 calls a minute.',
  },
  45033: {
    meaning: 'too many concurrent calls (接口并发调用超过限制)',
    kind: 'rate_limited',
    hint: 'Too many calls to this API at once. Back off and lower the concurrency.',
  },
  48002: {
    meaning: 'API not permitted for this app (API接口无权限调用)',
    kind: 'configuration',
    hint: "The app may not call this API. In the admin console add the app under 客户联系 → 可调用接口的应用 (the customer-contact API permission), and make sure the configured Secret is this app's own, not another app's.",
  },
  60011: {
    meaning: 'member, department or tag outside the visible range (指定的成员/部门/标签参数无权限)',
    kind: 'not_found',
    hint: "Add the member or department to the app's visible range (应用管理 → this app → 可见范围).",
  },
  60020: {
    meaning: 'caller IP is not a trusted IP (访问ip不在白名单之中)',
    kind: 'configuration',
    hint: "Calls must come from one of the app's trusted IPs (应用管理 → this app → 企业可信IP). A Worker's egress IP is neither fixed nor listable, so point WECOM_API_BASE at a fixed-IP egress proxy and add that proxy's IP there.",
  },
  81013: {
    meaning: 'no valid recipient (user & party & tag all invalid)',
    kind: 'configuration',
    hint: "Every recipient of the app message is outside the app's visible range (or does not exist). Add the members or their departments to the app's 可见范围 (应用管理 → this app).",
  },
  84014: { meaning: 'user_ticket expired (成员票据过期)', kind: 'request', hint: 'The user_ticket from sign-in lasts 1800 s. Sign in again.' },
  84061: {
    meaning: 'not an external contact of this member (不存在外部联系人的关系)',
    kind: 'not_found',
    hint: 'This customer is not (or no longer) an external contact of this member, or the member has no customers.',
  },
  84074: {
    meaning: 'no customer-contact permission (没有外部联系人权限)',
    kind: 'configuration',
    hint: 'Enable 客户联系 for this member (客户与上下游 → 客户联系 → 权限配置) and add the app under 客户联系 → 可调用接口的应用.',
  },
  301002: {
    meaning: 'not allowed to operate on what another app created (无权限操作指定的应用)',
    kind: 'request',
    hint: 'WeCom lets an app edit or delete only the customer tags and groups it created itself. Tags made in the admin console or by another app are changed there: 客户与上下游 → 客户联系 → 客户标签.',
  },
  91040: {
    meaning: 'invalid ticket type (获取ticket的类型无效)',
    kind: 'request',
    hint: 'ticket/get was called with a type other than agent_config: a bug in the worker.',
  },
};

/** gettoken refusing the credentials is a configuration error: refreshing again cannot help. */
const GETTOKEN_CODES: Readonly<Record<number, string>> = {
  40001: "The app's Secret is wrong. Copy the Secret shown under 应用管理 → this app (查看Secret) into WECOM_SECRET (or the app's secret in WECOM_APPS).",
  40013: KNOWN_CODES[40013]?.hint ?? '',
  40091: KNOWN_CODES[40091]?.hint ?? '',
};

export const GETTOKEN_ENDPOINT = 'gettoken';

/** Errcodes after which the client drops its token, fetches one new one and retries the call once. */
export function isTokenRefusal(errcode: number): boolean {
  return errcode === 40014 || errcode === 42001 || errcode === 40001;
}

/** Where a call failed, for messages and logs; never a token or a secret. */
export interface WeComCallSite {
  endpoint: string;
  corpId?: string;
  agentId?: string;
}

function appLabel(site: WeComCallSite): string {
  return site.corpId && site.agentId ? ` for app ${site.corpId}/${site.agentId}` : '';
}

/** Everything that failed on the way to or from WeCom; `status` is the worker's answer to its own caller. */
export class WeComFailure extends AppError {
  readonly hint: string;
  readonly endpoint: string;
  readonly corpId: string | undefined;
  readonly agentId: string | undefined;
  declare readonly status: 502 | 503;

  constructor(code: string, message: string, hint: string, site: WeComCallSite, status: 502 | 503) {
    super(status, code, message, { hint });
    this.name = 'WeComFailure';
    this.hint = hint;
    this.endpoint = site.endpoint;
    this.corpId = site.corpId;
    this.agentId = site.agentId;
  }

  // 503 when the deployment is misconfigured (secret, corp id, permission, trusted IP), 502 for other upstream failures.
  override logged() {
    return { level: this.status === 503 ? ('error' as const) : ('warn' as const), event: 'wecom.failed', fields: { code: this.code, endpoint: this.endpoint, corpId: this.corpId } };
  }
}

/** WeCom answered, with a non-zero errcode. */
export class WeComError extends WeComFailure {
  readonly errcode: number;
  /** WeCom's own text (it carries a support hint and, for 60020, the caller's IP); for logs, never for a response or branching. */
  readonly errmsg: string;
  readonly meaning: string;
  readonly kind: WeComErrorKind;
  /** For 60020, the egress address WeCom saw; for logs and the admin diagnostics only. */
  readonly seenIp: string | undefined;
  /** `hint` plus what only an admin may see (the egress IP). */
  readonly adminHint: string;

  constructor(errcode: number, errmsg: string, site: WeComCallSite) {
    const known = KNOWN_CODES[errcode];
    const onGettoken = site.endpoint === GETTOKEN_ENDPOINT ? GETTOKEN_CODES[errcode] : undefined;
    const kind: WeComErrorKind = onGettoken ? 'configuration' : (known?.kind ?? 'unknown');
    const meaning = known?.meaning ?? 'unknown WeCom error';
    const hint = onGettoken ?? known?.hint ?? `Look the code up at https://open.work.weixin.qq.com/devtool/query?e=${errcode}.`;
    // WeCom names the address it saw ("from ip: 1.2.3.4"): the one an admin would otherwise have to guess.
    // `hint` reaches anonymous visitors (signing, login pages), so the address stays out of it.
    const seenIp = errcode === 60020 ? /from ip:\s*([0-9a-fA-F.:]+)/.exec(errmsg)?.[1] : undefined;
    const message = onGettoken
      ? `WeCom refused the app's credentials${appLabel(site)} (errcode ${errcode}, ${meaning}).`
      : `WeCom ${site.endpoint} failed${appLabel(site)}: errcode ${errcode}, ${meaning}.`;
    super(`wecom_${errcode}`, message, hint, site, kind === 'configuration' ? 503 : 502);
    this.name = 'WeComError';
    this.errcode = errcode;
    this.errmsg = errmsg;
    this.meaning = meaning;
    this.kind = kind;
    this.seenIp = seenIp;
    this.adminHint = seenIp ? `${hint} WeCom saw this call come from ${seenIp}.` : hint;
  }

  override wire() {
    return { ...super.wire(), errcode: this.errcode };
  }

  override logged() {
    const line = super.logged();
    return { ...line, fields: { ...line.fields, errcode: this.errcode, errmsg: this.errmsg } };
  }
}

/** - `timeout`: no answer within the client's timeout. - `network`: the connection failed. - `http_status`: a non-2xx HTTP answer. - `bad_response`: a 2xx answer that is not a JSON object. */
export type WeComTransportReason = 'timeout' | 'network' | 'http_status' | 'bad_response';

const TRANSPORT_HINTS: Record<WeComTransportReason, string> = {
  timeout: 'WeCom (or the egress proxy in WECOM_API_BASE) did not answer in time. Try again; if it persists, check the proxy.',
  network: 'The worker could not reach WECOM_API_BASE. Check the URL and that the egress proxy is up.',
  http_status: 'WECOM_API_BASE answered with an HTTP error instead of a WeCom reply. Check the egress proxy and its logs.',
  bad_response: 'WECOM_API_BASE answered with something that is not WeCom JSON (an HTML error page?). Check that it points at WeCom or a proxy that forwards to it unchanged.',
};

/** The call produced no WeCom answer. */
export class WeComTransportError extends WeComFailure {
  readonly reason: WeComTransportReason;
  /** The upstream HTTP status for `http_status` and `bad_response`. */
  readonly upstreamStatus: number | undefined;
  readonly detail: string;

  constructor(reason: WeComTransportReason, site: WeComCallSite, detail: string, upstreamStatus?: number) {
    let hint = TRANSPORT_HINTS[reason];
    if (upstreamStatus === 401 || upstreamStatus === 403 || upstreamStatus === 407) {
      hint += ' A proxy refusing the worker usually means WECOM_API_PROXY_TOKEN is missing or wrong.';
    }
    super(`wecom_${reason}`, `WeCom ${site.endpoint} failed${appLabel(site)}: ${detail}.`, hint, site, 502);
    this.name = 'WeComTransportError';
    this.reason = reason;
    this.upstreamStatus = upstreamStatus;
    this.detail = detail;
  }
}

/**
 * A failure as plain data, so it survives the Durable Object RPC boundary (which keeps an
 * error's message but not its class or fields) and is rebuilt identically on the other side.
 */
export type WeComFailureData =
  | { type: 'wecom'; errcode: number; errmsg: string; site: WeComCallSite }
  | { type: 'transport'; reason: WeComTransportReason; site: WeComCallSite; detail: string; upstreamStatus?: number };

export function failureToData(failure: WeComError | WeComTransportError): WeComFailureData {
  const site: WeComCallSite = { endpoint: failure.endpoint };
  if (failure.corpId) site.corpId = failure.corpId;
  if (failure.agentId) site.agentId = failure.agentId;
  if (failure instanceof WeComError) return { type: 'wecom', errcode: failure.errcode, errmsg: failure.errmsg, site };
  const data: WeComFailureData = { type: 'transport', reason: failure.reason, site, detail: failure.detail };
  if (failure.upstreamStatus !== undefined) data.upstreamStatus = failure.upstreamStatus;
  return data;
}

export function failureFromData(data: WeComFailureData): WeComError | WeComTransportError {
  return data.type === 'wecom'
    ? new WeComError(data.errcode, data.errmsg, data.site)
    : new WeComTransportError(data.reason, data.site, data.detail, data.upstreamStatus);
}
