/**
 * @module
 * Admin views of the app messages: `GET /api/admin/lost-customers?member=&from=&to=` (customers who
 * deleted a member, by member and date range) and `GET /api/admin/app-messages/failures` (messages
 * WeCom refused or we gave up on, for the diagnostics page).
 */
import { Hono } from 'hono';
import { AppError } from '../errors.ts';
import { requireRole } from '../identity/guard.ts';
import type { AppEnv } from '../types.ts';
import type { AppMessageFailureList, LostCustomerList } from '../wire.ts';

const USERID = /^[A-Za-z0-9@._-]{1,64}$/;
const DAY_MS = 86_400_000;

/** `from`/`to`: epoch milliseconds or `YYYY-MM-DD` (a date in China time, `to` inclusive). */
function readTime(value: string | undefined, name: string, endOfDay: boolean): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^[0-9]{1,15}$/.test(value)) return Number(value);
  const date = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
  if (date) {
    const start = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3])) - 8 * 3_600_000;
    if (Number.isFinite(start)) return endOfDay ? start + DAY_MS : start;
  }
  throw new AppError(400, 'bad_request', `${name} must be a date (YYYY-MM-DD) or epoch milliseconds`);
}

export const lostCustomers = new Hono<AppEnv>().use('*', requireRole('admin')).get('/', async (c) => {
  const member = c.req.query('member') || undefined;
  if (member !== undefined && !USERID.test(member)) throw new AppError(400, 'bad_request', 'member must be a WeCom userid');
  const to = readTime(c.req.query('to'), 'to', true) ?? Date.now() + 1;
  const from = readTime(c.req.query('from'), 'from', false) ?? to - 30 * DAY_MS;
  if (from > to) throw new AppError(400, 'bad_request', 'from must not be after to');
  const items = await c.var.services.notify.lostCustomers({ ...(member ? { member } : {}), from, to, limit: 500 });
  return c.json({ items } satisfies LostCustomerList);
});

export const appMessagesAdmin = new Hono<AppEnv>().use('*', requireRole('admin')).get('/failures', async (c) => {
  const failed = await c.var.services.notify.outbox.recentFailures(50);
  return c.json({
    failures: failed.map((message) => ({
      id: message.id,
      kind: message.kind,
      touser: message.touser,
      customerId: message.customerId,
      attempts: message.attempts,
      errcode: message.errcode,
      reason: message.reason ?? 'unknown',
      at: message.finishedAt ?? message.createdAt,
    })),
  } satisfies AppMessageFailureList);
});
