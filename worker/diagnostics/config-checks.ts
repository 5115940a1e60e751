/**
 * @module
 * The checks that need no I/O: the configuration as read, and whether the worker signs pages on an origin.
 */
import { DEFAULT_API_BASE, type ConfigResult } from '../env.ts';
import type { CheckResult, DetailValue } from '../wire.ts';
import { result } from './wording.ts';

function isLoopback(base: string): boolean {
  try {
    const host = new URL(base).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

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
