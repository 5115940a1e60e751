/**
 * @module
 * Rate limits on what an anonymous caller or a single member can make the worker spend: login
 * starts, JS-SDK signing, contact lookups (each one a WeCom call against the corp's quota).
 *
 * Counting is Cloudflare's Workers rate-limiting binding (wrangler.toml `[[ratelimits]]`): no KV
 * writes of our own, counters per Cloudflare location, approximate by design. The limits themselves
 * live in wrangler.toml; the binding does not say when its window ends, so `Retry-After` is the
 * whole period.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../types.ts';
import type { Env } from '../bindings.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';

type LimiterName = 'LOGIN_LIMIT' | 'SIGNING_LIMIT' | 'CONTACT_LOOKUP_LIMIT';

/** The client as Cloudflare saw it; a client cannot set this header through Cloudflare. Absent only off Cloudflare (tests), where everyone shares one key. */
export const byClientIp = (c: Context<AppEnv>): string => `ip:${c.req.header('cf-connecting-ip') ?? 'unknown'}`;

/** The signed-in member, so logging in again or from another device does not reset the count. */
export const byMember = (c: Context<AppEnv>): string => `member:${c.var.user.corpId}/${c.var.user.id}`;

/** Counts one request against `limiter`; over the limit, a 429 `rate_limited` saying when to retry. */
export async function enforceLimit(c: Context<AppEnv>, limiter: LimiterName, key: (c: Context<AppEnv>) => string, periodSeconds: number): Promise<void> {
  const binding: Env[LimiterName] = c.env[limiter];
  const { success } = await binding.limit({ key: key(c) });
  if (success) return;
  log('warn', 'http.rate_limited', { limiter, path: c.req.path });
  c.header('retry-after', String(periodSeconds));
  throw new AppError(429, 'rate_limited', `Too many requests; try again in ${periodSeconds} seconds.`);
}

export function rateLimit(limiter: LimiterName, key: (c: Context<AppEnv>) => string, periodSeconds: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await enforceLimit(c, limiter, key, periodSeconds);
    await next();
  };
}
