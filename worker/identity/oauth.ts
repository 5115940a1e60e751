/**
 * @module
 * Pure pieces of the login flow: the two WeCom authorize URLs, and the rule that keeps `return`
 * a same-origin path (no open redirects). The state is login-state.ts.
 */

export type OAuthScope = 'snsapi_base' | 'snsapi_privateinfo';

/** Inside the WeCom app the user agent carries `wxwork/<version>`. */
export function isWeComUserAgent(userAgent: string | undefined): boolean {
  return /wxwork\/[\d.]+/i.test(userAgent ?? '');
}

export interface AuthorizeParams {
  corpId: string;
  agentId: string;
  redirectUri: string;
  state: string;
  scope: OAuthScope;
}

/** In-app OAuth: silent with snsapi_base; the client needs the `#wechat_redirect` fragment. */
export function inAppAuthorizeUrl(oauthBase: string, params: AuthorizeParams): string {
  const query = new URLSearchParams({
    appid: params.corpId,
    redirect_uri: params.redirectUri,
    response_type: 'code',
    scope: params.scope,
    state: params.state,
    agentid: params.agentId,
  });
  return `${oauthBase}/connect/oauth2/authorize?${query.toString()}#wechat_redirect`;
}

/** Desktop-browser web login (QR code or quick login through the desktop client). */
export function webLoginUrl(loginBase: string, params: Omit<AuthorizeParams, 'scope'>): string {
  const query = new URLSearchParams({
    login_type: 'CorpApp',
    appid: params.corpId,
    agentid: params.agentId,
    redirect_uri: params.redirectUri,
    state: params.state,
  });
  return `${loginBase}/wwlogin/sso/login?${query.toString()}`;
}

/**
 * Keeps `return` only when it is a path on this origin. Anything that a browser could resolve
 * to another host (absolute URLs, `//host`, backslashes, control characters) falls back to `/`.
 * The check runs on the normalised value, the one actually sent back: resolving dot segments
 * turns `/..//evil.example` or `/%2e%2e//evil.example` into `//evil.example`, a network path.
 */
export function safeReturnPath(value: string | undefined): string {
  if (!value || value.length > 2048) return '/';
  if (!value.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const resolved = new URL(value, 'https://sidebar.invalid');
    if (resolved.origin !== 'https://sidebar.invalid') return '/';
    const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
    return path.startsWith('//') || path.startsWith('/\\') ? '/' : path;
  } catch {
    return '/';
  }
}
