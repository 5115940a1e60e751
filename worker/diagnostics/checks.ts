/**
 * @module
 * Live diagnostics: the checks an admin would otherwise run by trial and error in the WeCom admin
 * console, each answering with what it found (en and zh) and the console step that fixes it.
 *
 * Each check takes only what it needs: the configuration (pure), a WeCom transport or client, a
 * ticket source, KV and D1. `runDiagnostics` wires them for one app. Rules they keep:
 * - gettoken is called directly, never through the token broker: a refusal must be diagnosed as
 *   it happens, not hidden behind (or written into) the broker's cache. WeCom hands back the live
 *   token while it is valid, so this does not replace the broker's token.
 * - The JS-SDK tickets come from the broker, which fetches only when its cache is cold: a page an
 *   admin reloads must not spend the 100-an-hour ticket limit.
 * - No retries: a diagnostic reports what it saw, and failed calls count towards WeCom's blocks.
 * - Checks that need an access token are not run when gettoken failed (`blockedBy`): each would
 *   only repeat the same refusal, and cost another failed call.
 * - Nothing here puts a secret, a token or a ticket into a result.
 */
import { DEFAULT_API_BASE, type Config, type ConfigResult, type WeComApp } from '../env.ts';
import { createWeComClient, fetchAccessToken, transportFor, type TokenSource, type WeComClient, type WeComTransportDeps } from '../wecom/client.ts';
import { WeComError, WeComTransportError } from '../wecom/errors.ts';
import type { CheckId, CheckResult, CheckStatus, DetailValue, DiagnosticsReport, Fix } from '../wire.ts';

export type { CheckId, CheckResult, CheckStatus, DetailValue, DiagnosticsReport, Fix };

/** Per attempt; a diagnostic should answer while the admin still looks at the page. */
export const DIAGNOSTIC_TIMEOUT_MS = 8_000;

const TRUSTED_IP_ZH = '管理后台 → 应用管理 → 本应用 → 企业可信IP';
const VISIBLE_RANGE_ZH = '管理后台 → 应用管理 → 本应用 → 可见范围';
const CONTACT_APPS_ZH = '管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用';

function result(id: CheckId, status: CheckStatus, message: string, messageZh: string, fix: Fix | null, extra: Partial<CheckResult> = {}): CheckResult {
  return { id, status, message, messageZh, fix, ...extra };
}

const iso = (ms: number) => new Date(ms).toISOString();

function isLoopback(base: string): boolean {
  try {
    const host = new URL(base).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** A generic finding for a WeCom errcode this module has no special text for. */
function wecomFailure(id: CheckId, error: WeComError, what: string, whatZh: string): CheckResult {
  return result(
    id,
    'fail',
    `${what} failed: errcode ${error.errcode}, ${error.meaning}.`,
    `${whatZh}失败：errcode ${error.errcode}（${error.meaning}）。`,
    { en: error.adminHint, zh: `按错误码查询原因与处理：https://open.work.weixin.qq.com/devtool/query?e=${error.errcode}` },
    { errcode: error.errcode },
  );
}

function transportFailure(id: CheckId, error: WeComTransportError, what: string, whatZh: string): CheckResult {
  const status = error.upstreamStatus;
  if (status === 401 || status === 403 || status === 407) {
    return result(
      id,
      'fail',
      `The egress proxy in WECOM_API_BASE refused the worker (HTTP ${status}): WECOM_API_PROXY_TOKEN is missing or differs from the proxy's PROXY_TOKEN.`,
      `WECOM_API_BASE 指向的出口代理拒绝了本服务（HTTP ${status}）：WECOM_API_PROXY_TOKEN 未设置，或与代理的 PROXY_TOKEN 不一致。`,
      {
        en: 'Set the same value on both sides: PROXY_TOKEN on the proxy machine, and npx wrangler secret put WECOM_API_PROXY_TOKEN for the worker.',
        zh: '两边设为同一个值：代理机器上的 PROXY_TOKEN，以及本服务的 WECOM_API_PROXY_TOKEN（npx wrangler secret put WECOM_API_PROXY_TOKEN）。',
      },
      { details: { upstreamStatus: status } },
    );
  }
  return result(
    id,
    'fail',
    `${what} got no WeCom answer: ${error.detail}.`,
    `${whatZh}没有得到企业微信的应答：${error.detail}。`,
    {
      en: error.hint,
      zh: '检查 WECOM_API_BASE 是否正确、出口代理是否在运行并能访问 https://qyapi.weixin.qq.com（代理日志里每个请求一行）。',
    },
    { details: { reason: error.reason, upstreamStatus: status ?? null } },
  );
}

// ---------------------------------------------------------------------------------------------
// Configuration (pure)

/** Why a session secret is weak, or undefined. Bits are estimated as length × log2(distinct characters). */
export function sessionSecretWeakness(secret: string): { en: string; zh: string } | undefined {
  const distinct = new Set(secret).size;
  const bits = secret.length * Math.log2(Math.max(distinct, 1));
  if (secret.length < 32) return { en: `SESSION_SECRET is short (${secret.length} characters)`, zh: `SESSION_SECRET 太短（${secret.length} 个字符）` };
  if (distinct < 10 || bits < 128) {
    return { en: `SESSION_SECRET has low variety (${distinct} different characters)`, zh: `SESSION_SECRET 字符种类太少（只有 ${distinct} 种不同字符）` };
  }
  return undefined;
}

/** Complete and well formed (corp id shape, 43-character AES key and the rest are `readConfig`'s rules), plus what it cannot refuse but should not pass quietly. */
export function checkConfiguration(configResult: ConfigResult): CheckResult {
  if (!configResult.ok) {
    return result(
      'config',
      'fail',
      `The configuration is incomplete: ${configResult.problems.join('; ')}.`,
      `配置不完整或格式有误：${configResult.problems.join('；')}。`,
      {
        en: 'Set each value named above with npx wrangler secret put <NAME> (README, Deploying to Cloudflare), then run the diagnostics again.',
        zh: '用 npx wrangler secret put <名称> 设置上面列出的每一项（见 README「Deploying to Cloudflare」），然后重新检查。',
      },
      { details: { problems: configResult.problems } },
    );
  }
  const config = configResult.config;
  const findings: Array<{ en: string; zh: string; fixEn: string; fixZh: string }> = [];
  const weak = sessionSecretWeakness(config.sessionSecret);
  if (weak) {
    findings.push({
      ...weak,
      fixEn: 'Replace it with random text: openssl rand -base64 48 | npx wrangler secret put SESSION_SECRET (takes effect at once).',
      fixZh: '换成随机生成的值：openssl rand -base64 48 | npx wrangler secret put SESSION_SECRET（立即生效）。',
    });
  }
  const direct = config.apiBase === DEFAULT_API_BASE;
  const local = isLoopback(config.apiBase);
  if (!direct && !local && new URL(config.apiBase).protocol === 'http:') {
    findings.push({
      en: 'WECOM_API_BASE uses plain http: the app Secret and access tokens cross the network unencrypted',
      zh: 'WECOM_API_BASE 使用明文 http：应用 Secret 和 access_token 会未加密地经过网络',
      fixEn: 'Serve the egress proxy over HTTPS (README, Egress proxy) and set WECOM_API_BASE to its https:// URL.',
      fixZh: '为出口代理配置 HTTPS（见 README「Egress proxy」），并把 WECOM_API_BASE 改为 https:// 地址。',
    });
  }
  if (!direct && !local && !config.apiProxyToken) {
    findings.push({
      en: 'WECOM_API_BASE points at a proxy but WECOM_API_PROXY_TOKEN is not set, so the proxy cannot tell this worker from anyone else',
      zh: 'WECOM_API_BASE 指向代理，但未设置 WECOM_API_PROXY_TOKEN，代理无法区分本服务与其他来源',
      fixEn: 'Choose a long random token, set it as PROXY_TOKEN on the proxy, and for the worker with npx wrangler secret put WECOM_API_PROXY_TOKEN (same value).',
      fixZh: '生成一个足够长的随机值，设为代理的 PROXY_TOKEN，并用 npx wrangler secret put WECOM_API_PROXY_TOKEN 设给本服务。',
    });
  }
  const details: Record<string, DetailValue> = {
    apps: config.apps.length,
    apiBase: config.apiBase,
    proxyToken: config.apiProxyToken !== undefined,
    trustedOrigins: config.trustedOrigins,
    domainVerifyFiles: [...config.domainVerifyFiles.keys()],
  };
  if (findings.length === 0) {
    return result(
      'config',
      'pass',
      `The configuration is complete and well formed (${config.apps.length} app${config.apps.length === 1 ? '' : 's'}; corp id, AES key and session secret checked).`,
      `配置完整且格式正确（${config.apps.length} 个应用；已检查企业ID、EncodingAESKey 和会话密钥）。`,
      null,
      { details },
    );
  }
  return result(
    'config',
    'warn',
    `The configuration works, but: ${findings.map((f) => f.en).join('; ')}.`,
    `配置可用，但：${findings.map((f) => f.zh).join('；')}。`,
    { en: findings.map((f) => f.fixEn).join(' '), zh: findings.map((f) => f.fixZh).join('') },
    { details },
  );
}

// ---------------------------------------------------------------------------------------------
// gettoken

export interface AccessTokenOutcome {
  result: CheckResult;
  /** The token gettoken returned, for the checks that follow; never put into a result. */
  token?: string;
}

/** gettoken with the configured corp id and secret, through WECOM_API_BASE as every call goes. */
export async function checkAccessToken(deps: WeComTransportDeps): Promise<AccessTokenOutcome> {
  const direct = deps.base === DEFAULT_API_BASE;
  try {
    const reply = await fetchAccessToken(deps);
    return {
      token: reply.access_token,
      result: result(
        'access_token',
        'pass',
        `gettoken works: WeCom accepted the corp id and the app Secret${direct ? '' : ' through the egress proxy'} (token valid for ${reply.expires_in} s).`,
        `gettoken 正常：企业微信接受了企业ID和应用 Secret${direct ? '' : '（经出口代理）'}，令牌有效期 ${reply.expires_in} 秒。`,
        null,
        { details: { expiresIn: reply.expires_in, viaProxy: !direct } },
      ),
    };
  } catch (error) {
    if (error instanceof WeComTransportError) return { result: transportFailure('access_token', error, 'gettoken', 'gettoken ') };
    if (!(error instanceof WeComError)) throw error;
    const errcode = error.errcode;
    if (errcode === 40013) {
      return {
        result: result(
          'access_token',
          'fail',
          `WeCom does not know the corp id ${deps.app.corpId} (40013).`,
          `企业微信不认识企业ID ${deps.app.corpId}（40013）。`,
          {
            en: 'Copy 管理后台 → 我的企业 → 企业信息 → 企业ID into WECOM_CORP_ID (or corpId in WECOM_APPS).',
            zh: '管理后台 → 我的企业 → 企业信息 → 企业ID，复制到 WECOM_CORP_ID（或 WECOM_APPS 的 corpId）。',
          },
          { errcode },
        ),
      };
    }
    if (errcode === 40001 || errcode === 40091) {
      return {
        result: result(
          'access_token',
          'fail',
          `WeCom refused the app Secret (${errcode}): it is wrong, was reset, or belongs to another app.`,
          `企业微信拒绝了应用 Secret（${errcode}）：Secret 有误、已被重置，或属于其他应用。`,
          {
            en: "Open 管理后台 → 应用管理 → this app → Secret (查看), send it to your WeCom client, and set it with npx wrangler secret put WECOM_SECRET (or the app's secret in WECOM_APPS).",
            zh: '管理后台 → 应用管理 → 本应用 → Secret「查看」，发送到企业微信后复制，用 npx wrangler secret put WECOM_SECRET 设置（或 WECOM_APPS 中该应用的 secret）。',
          },
          { errcode },
        ),
      };
    }
    if (errcode === 60020) {
      // WeCom names the address it saw: the one to enter, or proof that the calls skip the proxy.
      const ip = error.seenIp ?? null;
      const seen = ip ?? 'an address WeCom did not name';
      const fix: Fix = direct
        ? {
            en: `This worker calls WeCom directly, from Cloudflare's shared, changing addresses (WeCom saw ${seen}). Run the egress proxy on a machine with a fixed IP (README, Egress proxy), set WECOM_API_BASE and WECOM_API_PROXY_TOKEN to it, then add that machine's IP under 应用管理 → this app → 企业可信IP.`,
            zh: `本服务目前直接调用企业微信，出口是 Cloudflare 共享且会变化的地址（企业微信看到的是 ${seen}）。请在有固定 IP 的机器上运行出口代理（见 README「Egress proxy」），把 WECOM_API_BASE 和 WECOM_API_PROXY_TOKEN 指向它，再在 ${TRUSTED_IP_ZH} 中添加该机器的 IP。`,
          }
        : {
            en: `Add ${seen} under 应用管理 → this app → 企业可信IP (editable once a trusted domain or a callback URL is set; takes about a minute). If that is not the proxy machine's IP, the proxy egresses elsewhere.`,
            zh: `在 ${TRUSTED_IP_ZH} 中添加 ${seen}（需先设置可信域名或接收消息 URL 才能编辑，约 1 分钟后生效）。如果这不是代理机器的 IP，说明代理从别的出口访问企业微信。`,
          };
      return {
        result: result(
          'access_token',
          'fail',
          `WeCom refuses calls from ${seen}: it is not one of the app's trusted IPs (60020).`,
          `企业微信拒绝来自 ${seen} 的调用：该地址不在应用的企业可信IP中（60020）。`,
          fix,
          { errcode, details: { egressIp: ip, viaProxy: !direct } },
        ),
      };
    }
    return { result: wecomFailure('access_token', error, 'gettoken', 'gettoken ') };
  }
}

/** The token gettoken just returned, refetched the same way if WeCom refuses it. */
export function diagnosticTokenSource(deps: WeComTransportDeps, token: string): TokenSource {
  let current = token;
  return {
    accessToken: async () => current,
    refreshAccessToken: async () => (current = (await fetchAccessToken(deps)).access_token),
  };
}

// ---------------------------------------------------------------------------------------------
// JS-SDK tickets

/** Both tickets from the broker (cached when fresh); `tickets` is `tokensFor(env, app).tickets`. */
export async function checkTickets(tickets: () => Promise<{ jsapi: string; agentConfig: string }>): Promise<CheckResult> {
  try {
    const pair = await tickets();
    if (pair.jsapi === '' || pair.agentConfig === '') throw new Error('a ticket is empty');
    return result(
      'jssdk_tickets',
      'pass',
      'Both JS-SDK tickets are available: the corp ticket (wx.config) and the app ticket (wx.agentConfig).',
      '两种 JS-SDK 票据均可获取：企业 jsapi_ticket（wx.config）和应用 jsapi_ticket（wx.agentConfig）。',
      null,
    );
  } catch (error) {
    if (error instanceof WeComError && error.errcode === 45009) {
      return result(
        'jssdk_tickets',
        'fail',
        'WeCom refused a JS-SDK ticket (45009): the hourly limit is spent (100 an hour per app, 400 per corp for the corp ticket).',
        '企业微信拒绝签发 JS-SDK 票据（45009）：已达每小时上限（每个应用 100 次；企业票据另有每企业 400 次）。',
        {
          en: 'Wait for the hour to pass. If it recurs, another system is fetching tickets with this app: let only this worker fetch them.',
          zh: '等待一小时窗口过去。若反复出现，说明有其他系统在用本应用获取票据：只让本服务获取。',
        },
        { errcode: 45009 },
      );
    }
    if (error instanceof WeComError) return wecomFailure('jssdk_tickets', error, 'Fetching a JS-SDK ticket', '获取 JS-SDK 票据');
    if (error instanceof WeComTransportError) return transportFailure('jssdk_tickets', error, 'Fetching a JS-SDK ticket', '获取 JS-SDK 票据');
    const detail = error instanceof Error ? error.message : String(error);
    return result(
      'jssdk_tickets',
      'fail',
      `The token broker could not provide the tickets: ${detail}.`,
      `令牌服务未能提供票据：${detail}。`,
      { en: 'Check the worker logs for wecom.* lines.', zh: '查看 Worker 日志中的 wecom.* 记录。' },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Customer contact and visible range

export interface CustomerContactOutcome {
  result: CheckResult;
  /** Members with 客户联系 in the visible range, when the API answered. */
  followUsers?: string[];
}

export async function checkCustomerContact(client: Pick<WeComClient, 'getFollowUserList'>): Promise<CustomerContactOutcome> {
  try {
    const reply = await client.getFollowUserList();
    const followUsers = reply.follow_user ?? [];
    return {
      followUsers,
      result: result(
        'customer_contact',
        'pass',
        `The customer-contact API is open to this app (${followUsers.length} member${followUsers.length === 1 ? '' : 's'} with 客户联系 in its visible range).`,
        `本应用可调用客户联系接口（可见范围内有 ${followUsers.length} 名成员开通了客户联系）。`,
        null,
        { details: { followUsers: followUsers.length } },
      ),
    };
  } catch (error) {
    if (error instanceof WeComError && (error.errcode === 48002 || error.errcode === 84074)) {
      return {
        result: result(
          'customer_contact',
          'fail',
          `WeCom refused the customer-contact API (${error.errcode}): this app is not among the apps allowed to call it.`,
          `企业微信拒绝了客户联系接口（${error.errcode}）：本应用不在「可调用接口的应用」中。`,
          {
            en: 'Add this app under 管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用, and make sure WECOM_SECRET is this app\'s own Secret.',
            zh: `在 ${CONTACT_APPS_ZH} 中添加本应用，并确认 WECOM_SECRET 是本应用自己的 Secret。`,
          },
          { errcode: error.errcode },
        ),
      };
    }
    if (error instanceof WeComError) return { result: wecomFailure('customer_contact', error, 'externalcontact/get_follow_user_list', 'externalcontact/get_follow_user_list ') };
    if (error instanceof WeComTransportError) return { result: transportFailure('customer_contact', error, 'externalcontact/get_follow_user_list', 'externalcontact/get_follow_user_list ') };
    throw error;
  }
}

const WIDEN_RANGE: Fix = {
  en: 'Widen the visible range under 管理后台 → 应用管理 → this app → 可见范围: add the departments (or members) who use the sidebar.',
  zh: `在 ${VISIBLE_RANGE_ZH} 中添加使用侧边栏的部门（或成员）。`,
};

/** The visible range holds members: departments from department/list, and `followUsers` from the customer-contact check when it ran. */
export async function checkVisibleRange(client: Pick<WeComClient, 'listDepartments'>, followUsers: string[] | undefined): Promise<CheckResult> {
  let departments: number;
  try {
    departments = (await client.listDepartments()).department?.length ?? 0;
  } catch (error) {
    if (error instanceof WeComError && error.errcode === 60011) {
      return result(
        'visible_range',
        'fail',
        "WeCom refused to list the app's departments (60011): they are outside its visible range.",
        '企业微信拒绝列出本应用的部门（60011）：不在应用可见范围内。',
        WIDEN_RANGE,
        { errcode: 60011 },
      );
    }
    if (error instanceof WeComError) return wecomFailure('visible_range', error, 'department/list', 'department/list ');
    if (error instanceof WeComTransportError) return transportFailure('visible_range', error, 'department/list', 'department/list ');
    throw error;
  }
  const members = followUsers?.length;
  const details: Record<string, DetailValue> = { departments, followUsers: members ?? null };
  if (departments === 0 && !members) {
    return result(
      'visible_range',
      'fail',
      "The app's visible range is empty: WeCom shows it no department and no member, so nobody can use the sidebar.",
      '应用可见范围为空：企业微信没有向本应用开放任何部门或成员，没有人能使用侧边栏。',
      WIDEN_RANGE,
      { details },
    );
  }
  if (departments === 0) {
    return result(
      'visible_range',
      'warn',
      'The visible range lists members but no department: org sync and department-based scopes will find no departments.',
      '可见范围只包含成员、没有部门：组织同步和按部门的数据范围将找不到部门。',
      WIDEN_RANGE,
      { details },
    );
  }
  if (members === 0) {
    return result(
      'visible_range',
      'warn',
      `The app sees ${departments} department${departments === 1 ? '' : 's'}, but no member there has 客户联系 enabled: the sidebar will find no customers.`,
      `本应用可见 ${departments} 个部门，但其中没有成员开通客户联系：侧边栏将看不到客户。`,
      {
        en: 'Enable 客户联系 for the sales members (管理后台 → 客户与上下游 → 客户联系 → 权限配置), or add their departments to the visible range.',
        zh: '为销售成员开通客户联系（管理后台 → 客户与上下游 → 客户联系 → 权限配置），或把他们所在部门加入可见范围。',
      },
      { details },
    );
  }
  return result(
    'visible_range',
    'pass',
    `The app's visible range holds members: ${departments} department${departments === 1 ? '' : 's'}${members === undefined ? '' : `, ${members} with 客户联系`}.`,
    `应用可见范围包含成员：${departments} 个部门${members === undefined ? '' : `，其中 ${members} 人开通客户联系`}。`,
    null,
    { details },
  );
}

// ---------------------------------------------------------------------------------------------
// Callback

export interface CallbackFacts {
  corpId: string;
  agentId: string;
  /** Where the callback route records the last successful URL verification (`CALLBACK_VERIFIED_KEY`). */
  verifiedKey: string;
  /** The URL to enter under 接收消息 → 设置API接收. */
  callbackUrl: string;
}

/** When WeCom last verified the callback URL (KV) and when the last event arrived (D1 `events`). */
export async function checkCallback(stores: { kv: KVNamespace; db: D1Database }, facts: CallbackFacts): Promise<CheckResult> {
  const raw = await stores.kv.get(facts.verifiedKey);
  const parsed = raw === null ? Number.NaN : Number(raw);
  const verifiedAt = Number.isFinite(parsed) && parsed > 0 ? parsed : null;
  const row = await stores.db
    .prepare('SELECT MAX(received_at) AS last FROM events WHERE corp_id = ?1 AND agent_id = ?2')
    .bind(facts.corpId, facts.agentId)
    .first<{ last: number | null }>();
  const lastEventAt = row?.last ?? null;
  const details: Record<string, DetailValue> = { verifiedAt, lastEventAt, callbackUrl: facts.callbackUrl };
  if (verifiedAt === null && lastEventAt === null) {
    return result(
      'callback',
      'warn',
      `WeCom has never verified the callback URL with this worker, and no event has arrived. Enter ${facts.callbackUrl} as the callback URL.`,
      `企业微信从未向本服务校验过回调 URL，也没有收到任何事件。请把回调 URL 设为 ${facts.callbackUrl}。`,
      {
        en: `管理后台 → 应用管理 → this app → 接收消息 → 设置API接收: URL ${facts.callbackUrl}, Token and EncodingAESKey the values of WECOM_CALLBACK_TOKEN and WECOM_ENCODING_AES_KEY; tick 外部联系人变更 among the events, then save (saving makes WeCom verify the URL).`,
        zh: `管理后台 → 应用管理 → 本应用 → 接收消息 → 设置API接收：URL 填 ${facts.callbackUrl}，Token 与 EncodingAESKey 填 WECOM_CALLBACK_TOKEN、WECOM_ENCODING_AES_KEY 的值，勾选外部联系人变更事件后保存（保存时企业微信会校验该 URL）。`,
      },
      { details },
    );
  }
  const verified = verifiedAt === null ? 'before this worker kept a record of it' : `at ${iso(verifiedAt)}`;
  const verifiedZh = verifiedAt === null ? '（本服务没有校验记录）' : `于 ${iso(verifiedAt)}`;
  const events = lastEventAt === null ? 'no event has arrived yet (events come when customers or members change)' : `the last event arrived at ${iso(lastEventAt)}`;
  const eventsZh = lastEventAt === null ? '尚未收到事件（客户或成员变化时才会推送）' : `最近一次事件于 ${iso(lastEventAt)} 收到`;
  return result(
    'callback',
    'pass',
    `WeCom verified the callback URL ${verified}; ${events}.`,
    `企业微信已${verifiedZh}校验回调 URL；${eventsZh}。`,
    null,
    { details },
  );
}

// ---------------------------------------------------------------------------------------------
// Origin (pure)

/** Whether the worker signs JS-SDK pages on `origin`: its own origin or one of TRUSTED_ORIGINS. */
export function checkOrigin(origin: string, ownOrigin: string, trustedOrigins: readonly string[]): CheckResult {
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  const normalized = parsed && parsed.origin !== 'null' ? parsed.origin : undefined;
  const details: Record<string, DetailValue> = { origin, ownOrigin, trustedOrigins: [...trustedOrigins] };
  if (normalized !== undefined && (normalized === ownOrigin || trustedOrigins.includes(normalized))) {
    const host = parsed?.host ?? '';
    const why = normalized === ownOrigin ? "the worker's own origin" : 'listed in TRUSTED_ORIGINS';
    const whyZh = normalized === ownOrigin ? '本服务自身的源' : '已列入 TRUSTED_ORIGINS';
    return result(
      'origin',
      'pass',
      `Pages on ${normalized} are signed for the JS-SDK (${why}); the app's 可信域名 in WeCom must be ${host}.`,
      `${normalized} 上的页面可获得 JS-SDK 签名（${whyZh}）；企业微信中本应用的可信域名须为 ${host}。`,
      null,
      { details: { ...details, trustedDomain: host } },
    );
  }
  const shown = normalized ?? origin;
  return result(
    'origin',
    'fail',
    `${shown} is not an origin this worker signs for, so the sidebar opened from it cannot register the JS-SDK.`,
    `本服务不为 ${shown} 签名，从该地址打开的侧边栏无法注册 JS-SDK。`,
    {
      en: `Open the sidebar from ${ownOrigin}, or add ${shown} to TRUSTED_ORIGINS (npx wrangler secret put TRUSTED_ORIGINS) and its host to 应用管理 → this app → 网页授权及JS-SDK → 可信域名.`,
      zh: `从 ${ownOrigin} 打开侧边栏；或把 ${shown} 加入 TRUSTED_ORIGINS（npx wrangler secret put TRUSTED_ORIGINS），并把其域名加到 管理后台 → 应用管理 → 本应用 → 网页授权及JS-SDK → 可信域名。`,
    },
    { details },
  );
}

// ---------------------------------------------------------------------------------------------

function blocked(id: CheckId, by: CheckId): CheckResult {
  return result(
    id,
    'warn',
    'Not checked: it needs a working access token (see the gettoken check).',
    '未检查：需要先能获取 access_token（见 gettoken 检查）。',
    null,
    { blockedBy: by },
  );
}

export interface DiagnosticsInput {
  config: Config;
  app: WeComApp;
  kv: KVNamespace;
  db: D1Database;
  /** The broker's tickets for `app` (`tokensFor(env, app).tickets`). */
  tickets: () => Promise<{ jsapi: string; agentConfig: string }>;
  /** KV key of the last verification (`CALLBACK_VERIFIED_KEY(corpId, agentId)`). */
  callbackVerifiedKey: string;
  /** The worker's own origin: callbacks reach it there and it always signs pages there. */
  ownOrigin: string;
  /** The origin the admin's page is on. */
  origin: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Every check for one app, in the order an admin would fix them. */
export async function runDiagnostics(input: DiagnosticsInput): Promise<DiagnosticsReport> {
  const { config, app } = input;
  const deps = transportFor(config, app, { timeoutMs: DIAGNOSTIC_TIMEOUT_MS, retryDelaysMs: [], ...(input.fetch ? { fetch: input.fetch } : {}) });

  const configCheck = checkConfiguration({ ok: true, config });
  const originCheck = checkOrigin(input.origin, input.ownOrigin, config.trustedOrigins);
  const [token, callbackCheck] = await Promise.all([
    checkAccessToken(deps),
    checkCallback(
      { kv: input.kv, db: input.db },
      {
        corpId: app.corpId,
        agentId: app.agentId,
        verifiedKey: input.callbackVerifiedKey,
        callbackUrl: `${input.ownOrigin}/wecom/callback/${encodeURIComponent(app.corpId)}/${encodeURIComponent(app.agentId)}`,
      },
    ),
  ]);
  let wecomChecks: CheckResult[];
  if (token.token === undefined) {
    wecomChecks = [blocked('jssdk_tickets', 'access_token'), blocked('customer_contact', 'access_token'), blocked('visible_range', 'access_token')];
  } else {
    const client = createWeComClient({ ...deps, tokens: diagnosticTokenSource(deps, token.token) });
    const [tickets, contactAndRange] = await Promise.all([
      checkTickets(input.tickets),
      checkCustomerContact(client).then(async (contact) => [contact.result, await checkVisibleRange(client, contact.followUsers)] as const),
    ]);
    wecomChecks = [tickets, ...contactAndRange];
  }

  const checks = [configCheck, token.result, ...wecomChecks, callbackCheck, originCheck];
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const check of checks) summary[check.status] += 1;
  return {
    app: { corpId: app.corpId, agentId: app.agentId },
    origin: input.origin,
    checkedAt: (input.now ?? Date.now)(),
    ok: summary.fail === 0,
    summary,
    checks,
  };
}
