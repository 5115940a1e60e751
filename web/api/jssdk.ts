/**
 * @module
 * `POST /api/jssdk/signatures`: both JS-SDK signatures for one page URL, in one answer.
 */
import { request } from './http.ts';
import type { Signatures } from './types.ts';

/** `refresh: true` only after WeCom refused a signature: it makes the worker refetch its tickets. */
export function postSignatures(body: { url: string; refresh?: boolean }): Promise<Signatures> {
  return request<Signatures>('POST', '/api/jssdk/signatures', { body });
}
