/**
 * @module
 * `/api/contacts/:externalUserId/tags` and `/remark`: the reader's own relationship with a
 * contact, written through to WeCom (worker/tags/service.ts). Lengths are checked here, before
 * WeCom is asked.
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../types.ts';
import { AppError } from '../errors.ts';
import { idempotencyKey } from '../http/idempotency.ts';
import { checkId } from '../ids.ts';
import { REMARK_LIMITS, type RemarkEdit, type TagsChange } from '../wire.ts';

/** WeCom counts characters; code points here (docs/wecom.md §7). */
const length = (text: string) => [...text].length;

async function jsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError(400, 'bad_request', 'Send a JSON object');
  return body as Record<string, unknown>;
}

function tagIds(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 100) throw new AppError(400, 'bad_request', `${field} must be a list of at most 100 tag ids`);
  return [...new Set(value.map((id) => checkId('tag', id)))];
}

export function readTagsChange(body: Record<string, unknown>): TagsChange {
  const change = { add: tagIds(body.add, 'add'), remove: tagIds(body.remove, 'remove') };
  if (change.add.length === 0 && change.remove.length === 0) throw new AppError(400, 'bad_request', 'Send { "add": [tag ids], "remove": [tag ids] } with at least one id');
  if (change.add.some((id) => change.remove.includes(id))) throw new AppError(400, 'bad_request', 'A tag cannot be added and removed at once');
  return change;
}

function tooLong(field: string, max: number): AppError {
  return new AppError(400, 'too_long', `WeCom allows at most ${max} characters in ${field}`, { field, max });
}

export function readRemarkEdit(body: Record<string, unknown>): RemarkEdit {
  const edit: RemarkEdit = {};
  for (const field of ['remark', 'description'] as const) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new AppError(400, 'bad_request', `${field} must be text`);
    if (length(value.trim()) > REMARK_LIMITS[field]) throw tooLong(field, REMARK_LIMITS[field]);
    edit[field] = value.trim();
  }
  if (body.remarkMobiles !== undefined) {
    const list = body.remarkMobiles;
    if (!Array.isArray(list) || !list.every((m): m is string => typeof m === 'string')) throw new AppError(400, 'bad_request', 'remarkMobiles must be a list of phone numbers');
    const mobiles = [...new Set(list.map((m) => m.trim()).filter((m) => m !== ''))];
    if (mobiles.length > REMARK_LIMITS.mobiles) throw new AppError(400, 'too_long', `At most ${REMARK_LIMITS.mobiles} remark mobiles`, { field: 'remarkMobiles', max: REMARK_LIMITS.mobiles });
    if (mobiles.some((m) => m.length > REMARK_LIMITS.mobile || !/^[0-9+\- ()]+$/.test(m))) throw new AppError(400, 'bad_request', 'A remark mobile holds digits, spaces and + - ( ) only');
    edit.remarkMobiles = mobiles;
  }
  if (Object.keys(edit).length === 0) throw new AppError(400, 'bad_request', 'Send any of remark, description, remarkMobiles');
  return edit;
}

export const contactTags = new Hono<AppEnv>()
  .get('/:externalUserId/tags', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const services = c.var.services;
    return c.json(await services.tags.contactTags(id, c.var.user, await services.scope()));
  })

  .post('/:externalUserId/tags', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const change = readTagsChange(await jsonObject(c));
    const services = c.var.services;
    const key = idempotencyKey(c.req.header('idempotency-key'), 'contact-tags', services.app.corpId, id);
    return c.json(await services.tags.mark(id, change, c.var.user, await services.scope(), key));
  })

  .patch('/:externalUserId/remark', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const edit = readRemarkEdit(await jsonObject(c));
    const services = c.var.services;
    const key = idempotencyKey(c.req.header('idempotency-key'), 'contact-remark', services.app.corpId, id);
    return c.json(await services.tags.remark(id, edit, c.var.user, await services.scope(), key));
  });
