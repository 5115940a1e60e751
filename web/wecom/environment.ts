/**
 * @module
 * Where the page runs. `@wecom/jssdk` calls made outside the WeCom client wait forever,
 * so the app checks this before calling any `ww.*` API.
 */
export function isWeComClient(userAgent: string): boolean {
  return /wxwork\/([\d.]+)/i.test(userAgent);
}
