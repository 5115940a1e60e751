/**
 * @module
 * Cookie flags in one place: HttpOnly and SameSite=Lax always (the OAuth redirect back from
 * WeCom is a top-level navigation, which Lax allows), Secure everywhere except plain-http localhost.
 */
export interface CookieOptions {
  path: string;
  maxAgeSeconds?: number;
}

function isLocalHttp(url: URL): boolean {
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
}

export function setCookie(requestUrl: string, name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`, 'HttpOnly', 'SameSite=Lax'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  if (!isLocalHttp(new URL(requestUrl))) parts.push('Secure');
  return parts.join('; ');
}

export function clearCookie(requestUrl: string, name: string, path: string): string {
  return setCookie(requestUrl, name, '', { path, maxAgeSeconds: 0 });
}

export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
