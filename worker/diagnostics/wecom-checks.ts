/**
 * @module
 * The checks that call WeCom: gettoken, the JS-SDK tickets, the customer-contact API and the
 * visible range (run.ts says why gettoken skips the broker and the tickets do not).
 */
import { DEFAULT_API_BASE } from '../env.ts';
import { fetchAccessToken, type TokenSource, type WeComClient, type WeComTransportDeps } from '../wecom/client.ts';
import { WeComError, WeComTransportError } from '../wecom/errors.ts';
import type { CheckResult, DetailValue, Fix } from '../wire.ts';
import { CONTACT_APPS_ZH, TRUSTED_IP_ZH, VISIBLE_RANGE_ZH, result, transportFailure, wecomFailure } from './wording.ts';

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
