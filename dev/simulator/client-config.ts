/**
 * @module
 * The simulated WeCom client's options (client.ts plays them in a page), and how a URL query sets
 * them (client-script.ts). No DOM here: the simulator's server side and the e2e harness import it.
 */

export type BridgeArrival = 'ready' | 'late' | 'none';

export interface WeComClientConfig {
  /** The `wxwork/<version>` the user agent carries. */
  version: string;
  platform: 'desktop' | 'mobile';
  bridge: BridgeArrival;
  /** How long a late bridge takes. */
  lateMs: number;
  /** `single_chat_tools`, `group_chat_tools`, `contact_profile`, or `normal` (no chat context). */
  entry: string;
  contact: string;
  chat: string;
  /** `none`: the member or app lacks customer contact (客户联系). */
  permission: 'granted' | 'none';
  /** Native APIs this client does not have. */
  missing: string[];
  /** The simulator's signature check. */
  verifyUrl: string;
  /** Set the page's user agent (and platform) to WeCom's; the e2e harness may set it itself. */
  setUserAgent: boolean;
}

export interface VerifyRequest {
  url: string;
  corpId: string;
  agentId?: string;
  config?: { timestamp: string; nonceStr: string; signature: string };
  agentConfig?: { timestamp: string; nonceStr: string; signature: string };
}

export interface VerifyVerdict {
  ok: boolean;
  errMsg: string;
  errCode?: number;
  reason?: 'no_matching_ticket' | 'ticket_expired' | 'untrusted_domain';
}

export type VerifyPort = (request: VerifyRequest) => Promise<{ config?: VerifyVerdict; agentConfig?: VerifyVerdict }>;

export function weComUserAgent(version: string, platform: 'desktop' | 'mobile'): string {
  return platform === 'mobile'
    ? `Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/${version} MicroMessenger/7.0.1 Language/zh ColorScheme/Light`
    : `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36 wxwork/${version} MicroMessenger/7.0.1 Language/zh`;
}

export const DEFAULT_WECOM_VERSION = '4.1.20';
/** A client before 3.0.24: runs config then agentConfig, and has no getContext. */
export const OLD_WECOM_VERSION = '3.0.16';

/** The options a URL query gives, over the demo corp's defaults. */
export function clientConfig(query: URLSearchParams, defaults: { contact: string; chat: string; verifyUrl: string }): WeComClientConfig {
  const version = query.get('version') || DEFAULT_WECOM_VERSION;
  const old = version.split('.').map(Number).reduce((acc, n, i) => (acc !== 0 ? acc : n - ([3, 0, 24][i] ?? 0)), 0) < 0;
  const bridge = query.get('bridge');
  const missing = query.get('missing');
  return {
    version,
    platform: query.get('platform') === 'mobile' ? 'mobile' : 'desktop',
    bridge: bridge === 'late' || bridge === 'none' ? bridge : 'ready',
    lateMs: Number(query.get('lateMs') ?? 1000) || 1000,
    entry: query.get('entry') || (query.get('chat') ? 'group_chat_tools' : 'single_chat_tools'),
    contact: query.get('contact') || defaults.contact,
    chat: query.get('chat') || defaults.chat,
    permission: query.get('perm') === 'none' ? 'none' : 'granted',
    missing: missing !== null ? missing.split(',').filter(Boolean) : old ? ['getContext'] : [],
    verifyUrl: defaults.verifyUrl,
    setUserAgent: query.get('ua') !== '0',
  };
}

