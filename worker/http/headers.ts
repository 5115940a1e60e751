/**
 * @module
 * Response headers on everything the worker itself answers. The SPA's files come from the ASSETS
 * binding without running the worker; they get the same headers, plus the Content-Security-Policy,
 * from web/public/_headers. The sidebar page (`GET /`, routes/page.ts) runs the worker but keeps
 * the headers the binding gave it, that policy included: it is written in one place.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../types.ts';

export const HSTS = 'max-age=31536000; includeSubDomains';

export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'strict-origin-when-cross-origin');
  // Plain-http local origins get none: there it would mean nothing, or pin a developer's localhost.
  if (new URL(c.req.url).protocol === 'https:') c.header('strict-transport-security', HSTS);
  // Answers about members and customers must not outlive the session in any cache.
  if (c.req.path.startsWith('/api/')) c.header('cache-control', 'no-store');
};
