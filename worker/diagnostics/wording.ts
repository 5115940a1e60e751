/**
 * @module
 * How diagnostics word a finding: the result shape, the admin-console paths the fixes cite, and the
 * generic findings for a WeCom errcode or a transport failure that no check has its own text for.
 */
import type { WeComError, WeComTransportError } from '../wecom/errors.ts';
import type { CheckId, CheckResult, CheckStatus, Fix } from '../wire.ts';

export const TRUSTED_IP_ZH = '管理后台 → 应用管理 → 本应用 → 企业可信IP';
export const VISIBLE_RANGE_ZH = '管理后台 → 应用管理 → 本应用 → 可见范围';
export const CONTACT_APPS_ZH = '管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用';

export function result(id: CheckId, status: CheckStatus, message: string, messageZh: string, fix: Fix | null, extra: Partial<CheckResult> = {}): CheckResult {
  return { id, status, message, messageZh, fix, ...extra };
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** A generic finding for a WeCom errcode this module has no special text for. */
export function wecomFailure(id: CheckId, error: WeComError, what: string, whatZh: string): CheckResult {
  return result(
    id,
    'fail',
    `${what} failed: errcode ${error.errcode}, ${error.meaning}.`,
    `${whatZh}失败：errcode ${error.errcode}（${error.meaning}）。`,
    { en: error.adminHint, zh: `按错误码查询原因与处理：https://open.work.weixin.qq.com/devtool/query?e=${error.errcode}` },
    { errcode: error.errcode },
  );
}

export function transportFailure(id: CheckId, error: WeComTransportError, what: string, whatZh: string): CheckResult {
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

export function blocked(id: CheckId, by: CheckId): CheckResult {
  return result(
    id,
    'warn',
    'Not checked: it needs a working access token (see the gettoken check).',
    '未检查：需要先能获取 access_token（见 gettoken 检查）。',
    null,
    { blockedBy: by },
  );
}
