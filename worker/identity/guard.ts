/**
 * @module
 * The one identity guard in front of `/api`: a live session whose user is active in D1 and still
 * at the session's generation (revoking all sessions bumps it), then role checks per route. The roles come from this product's tables, never from the client.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../types.ts';
import { AppError } from '../errors.ts';
import { readCookie } from './cookies.ts';
import { edgeServices } from '../services.ts';
import { SESSION_COOKIE } from './sessions.ts';
import type { Role, User } from './users.ts';

/** The session's member, or why there is none (said on the wire by requireUser, nowhere else). */
export type Member = { ok: true; session: AppEnv['Variables']['session']; user: User } | { ok: false; message: string };

/**
 * The live session in the request's cookie and its active user at the session's generation. A
 * session whose user was deactivated or whose generation was raised is revoked here.
 */
export async function readMember(c: Context<AppEnv>): Promise<Member> {
  const { sessions, users } = edgeServices(c.env, c.var.config);
  const cookie = readCookie(c.req.header('cookie'), SESSION_COOKIE);
  const session = await sessions.read(cookie);
  if (!session) return { ok: false, message: 'Not logged in, or the session expired: log in again at /auth/login' };
  const user = await users.get(session.corpId, session.userId);
  if (!user || user.status !== 'active') {
    if (cookie) await sessions.revoke(cookie);
    return { ok: false, message: 'This account is no longer active: log in again, or ask an admin' };
  }
  if (session.generation !== user.sessionGeneration) {
    if (cookie) await sessions.revoke(cookie);
    return { ok: false, message: 'This session was ended by an admin or a directory change: log in again' };
  }
  return { ok: true, session, user };
}

export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const member = await readMember(c);
  if (!member.ok) throw new AppError(401, 'unauthenticated', member.message);
  c.set('session', member.session);
  c.set('user', member.user);
  await next();
};

/** Allows the request when the user holds any of `roles` (admin always may). */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = c.get('user');
    if (!user) throw new AppError(401, 'unauthenticated', 'Not logged in');
    if (!user.roles.includes('admin') && !user.roles.some((role) => roles.includes(role))) {
      throw new AppError(403, 'forbidden', `This needs the ${roles.join(' or ')} role; you have ${user.roles.join(', ') || 'no role'}`);
    }
    await next();
  };
}
