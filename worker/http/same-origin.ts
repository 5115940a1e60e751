/**
 * @module
 * Cross-site writes: every state-changing request under `/api` and `/auth/logout` must come from the
 * product's own origins (PUBLIC_ORIGIN and TRUSTED_ORIGINS) and carry its body as JSON.
 *
 * The session cookie is SameSite=Lax, which stops cookies on cross-*site* requests only: a page on
 * another port or a sibling subdomain is the same site and still sends it. A browser marks every
 * POST/PUT/PATCH/DELETE with `Origin` (or at least `Sec-Fetch-Site`), so a request with neither did
 * not come from a page and is refused too. Requiring `application/json` also means a cross-origin
 * page cannot send the body without a CORS preflight, which this worker never grants.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../types.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface WriteRequest {
  method: string;
  origin: string | undefined;
  secFetchSite: string | undefined;
  contentType: string | undefined;
  /** Whether the request carries a body (a bodyless POST or DELETE needs no content type). */
  hasBody: boolean;
}

export type WriteVerdict = { ok: true } | { ok: false; reason: 'foreign_origin' | 'no_origin' | 'not_json' };

/** Pure: whether a request may change state, judged on its headers alone. */
export function judgeWrite(request: WriteRequest, ownOrigins: readonly string[]): WriteVerdict {
  if (SAFE_METHODS.has(request.method)) return { ok: true };
  if (request.origin !== undefined) {
    if (!ownOrigins.includes(request.origin)) return { ok: false, reason: 'foreign_origin' };
  } else if (request.secFetchSite !== undefined) {
    if (request.secFetchSite !== 'same-origin') return { ok: false, reason: 'foreign_origin' };
  } else {
    return { ok: false, reason: 'no_origin' };
  }
  if (request.hasBody) {
    const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') return { ok: false, reason: 'not_json' };
  }
  return { ok: true };
}

/** Refuses a cross-origin or non-JSON write with 403 `cross_origin_write` / 415 `json_required` before any handler runs. */
export const sameOriginWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = c.var.config;
  const length = c.req.header('content-length');
  const verdict = judgeWrite(
    {
      method: c.req.method,
      origin: c.req.header('origin'),
      secFetchSite: c.req.header('sec-fetch-site'),
      contentType: c.req.header('content-type'),
      hasBody: c.req.raw.body !== null && length !== '0',
    },
    [config.publicOrigin, ...config.trustedOrigins],
  );
  if (verdict.ok) return next();
  log('warn', 'http.write_refused', { path: c.req.path, method: c.req.method, reason: verdict.reason, origin: c.req.header('origin') ?? null });
  if (verdict.reason === 'not_json') throw new AppError(415, 'json_required', 'Send the body as application/json.');
  throw new AppError(403, 'cross_origin_write', 'Changes are accepted only from pages of this product.');
};
