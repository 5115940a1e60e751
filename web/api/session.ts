/**
 * @module
 * `GET /api/me`, and the login address (a top-level navigation, not a fetch).
 */
import { request } from './http.ts';
import type { Me } from './types.ts';

export function getMe(): Promise<Me> {
  return request<Me>('GET', '/api/me');
}

/** `/auth/login` sends the member through WeCom OAuth and back to `returnTo` (a same-origin path). */
export function loginUrl(returnTo: string): string {
  return `/auth/login?return=${encodeURIComponent(returnTo)}`;
}
