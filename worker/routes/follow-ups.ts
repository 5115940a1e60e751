/**
 * @module
 * `/api/customers/:id/follow-up`: read, set and clear a customer's next follow-up time.
 */
import { Hono } from 'hono';
import { AppError } from '../errors.ts';
import { checkId } from '../ids.ts';
import type { AppEnv } from '../types.ts';
import type { FollowUpAnswer, FollowUpInput } from '../wire.ts';

const NOTE_MAX = 200;
/** A time a little in the past is allowed (a slow form); the reminder then goes on the next run. */
const PAST_SLACK_MS = 10 * 60_000;
const FUTURE_MAX_MS = 2 * 366 * 86_400_000;

function readInput(body: unknown, now: number): { dueAt: number; note: string } {
  const input = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof FollowUpInput, unknown>>;
  const { dueAt, note = '' } = input;
  if (typeof dueAt !== 'number' || !Number.isInteger(dueAt) || dueAt < now - PAST_SLACK_MS || dueAt > now + FUTURE_MAX_MS) {
    throw new AppError(400, 'bad_request', 'dueAt must be a time (epoch milliseconds) from now to two years ahead');
  }
  if (typeof note !== 'string' || note.length > NOTE_MAX) throw new AppError(400, 'bad_request', `note must be at most ${NOTE_MAX} characters`);
  return { dueAt, note: note.trim() };
}

export const followUpsRoute = new Hono<AppEnv>()
  .get('/:id/follow-up', async (c) => {
    const followUp = await c.var.services.followUps.get(checkId('customer', c.req.param('id')), await c.var.services.scope());
    return c.json({ followUp } satisfies FollowUpAnswer);
  })

  .put('/:id/follow-up', async (c) => {
    const id = checkId('customer', c.req.param('id'));
    const now = Date.now();
    const input = readInput(await c.req.json().catch(() => undefined), now);
    const userid = c.var.user.wecomUserId ?? `user:${c.var.user.id}`;
    const followUp = await c.var.services.followUps.set(id, input, userid, await c.var.services.scope(), now);
    return c.json({ followUp } satisfies FollowUpAnswer);
  })

  .delete('/:id/follow-up', async (c) => {
    await c.var.services.followUps.clear(checkId('customer', c.req.param('id')), await c.var.services.scope());
    return c.json({ followUp: null } satisfies FollowUpAnswer);
  });
