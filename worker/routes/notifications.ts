/**
 * @module
 * `/api/me/notifications`: which kinds of app message the signed-in member receives.
 */
import { Hono } from 'hono';
import { AppError } from '../errors.ts';
import type { AppEnv } from '../types.ts';
import { NOTIFICATION_KINDS, type NotificationKind, type NotificationSettings } from '../wire.ts';

function memberId(user: AppEnv['Variables']['user']): string {
  if (!user.wecomUserId) throw new AppError(409, 'conflict', 'This account has no WeCom userid yet: log in through WeCom first');
  return user.wecomUserId;
}

export const notifications = new Hono<AppEnv>()
  .get('/', async (c) => c.json({ settings: await c.var.services.notify.mutes.settings(memberId(c.var.user)) } satisfies NotificationSettings))

  .put('/', async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    const settings = (typeof body === 'object' && body !== null ? (body as { settings?: unknown }).settings : undefined) as Record<string, unknown> | undefined;
    const entries = typeof settings === 'object' && settings !== null ? Object.entries(settings) : [];
    if (entries.length === 0 || !entries.every(([kind, on]) => (NOTIFICATION_KINDS as readonly string[]).includes(kind) && typeof on === 'boolean')) {
      throw new AppError(400, 'bad_request', `Send { "settings": { kind: true|false } } with kinds from ${NOTIFICATION_KINDS.join(', ')}`);
    }
    const userid = memberId(c.var.user);
    const mutes = c.var.services.notify.mutes;
    await mutes.update(userid, Object.fromEntries(entries) as Partial<Record<NotificationKind, boolean>>, Date.now());
    return c.json({ settings: await mutes.settings(userid) } satisfies NotificationSettings);
  });
