/**
 * @module
 * `/api/admin/tags` (admin role): WeCom's corp tag library (add; rename and delete what this app
 * created), the tag group → CRM field mappings, and CRM writes waiting to be retried.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';
import { AppError } from '../errors.ts';
import { requireRole } from '../identity/guard.ts';
import { checkId } from '../ids.ts';

/** WeCom's limit on tag and group names (UNCONFIRMED, docs/wecom.md §7.1). */
const NAME_MAX = 30;
/** The customers route's limit on custom-field keys. */
const FIELD_MAX = 40;

function name(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new AppError(400, 'bad_request', `${what} must be a non-empty text`);
  if ([...value.trim()].length > NAME_MAX) throw new AppError(400, 'too_long', `WeCom allows at most ${NAME_MAX} characters in ${what}`, { field: what, max: NAME_MAX });
  return value.trim();
}

async function body(request: Request): Promise<Record<string, unknown>> {
  const parsed: unknown = await request.json().catch(() => undefined);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AppError(400, 'bad_request', 'Send a JSON object');
  return parsed as Record<string, unknown>;
}

export const adminTags = new Hono<AppEnv>()
  .use('*', requireRole('admin'))

  .get('/', async (c) => c.json(await c.var.services.tags.adminView()))

  .post('/', async (c) => {
    const input = await body(c.req.raw);
    if (!Array.isArray(input.tags) || input.tags.length === 0 || input.tags.length > 50) throw new AppError(400, 'bad_request', 'Send { "groupId" or "groupName", "tags": ["name", …] } with 1-50 names');
    const tags = input.tags.map((tag, i) => name(tag, `tags[${i}]`));
    const groupId = input.groupId === undefined ? undefined : checkId('tag', input.groupId);
    const groupName = groupId ? undefined : name(input.groupName, 'groupName');
    return c.json(await c.var.services.tags.addTags({ ...(groupId ? { groupId } : { groupName }), tags }), 201);
  })

  .put('/mappings', async (c) => {
    const input = await body(c.req.raw);
    const list = input.mappings;
    if (!Array.isArray(list) || list.length > 50) throw new AppError(400, 'bad_request', 'Send { "mappings": [{ "groupId", "field" }] }');
    const mappings = list.map((item: unknown) => {
      const entry = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      const field = typeof entry.field === 'string' ? entry.field.trim() : '';
      if (field === '' || field.length > FIELD_MAX) throw new AppError(400, 'bad_request', `Each mapping names a custom field of 1-${FIELD_MAX} characters`);
      return { groupId: checkId('tag', entry.groupId), field };
    });
    return c.json(await c.var.services.tags.setMappings(mappings, c.var.user));
  })

  .post('/pending/retry', async (c) => c.json(await c.var.services.tags.retryPending(c.var.user)))

  .patch('/:id', async (c) => {
    const id = checkId('tag', c.req.param('id'));
    const input = await body(c.req.raw);
    return c.json(await c.var.services.tags.renameTag(id, name(input.name, 'name')));
  })

  .delete('/:id', async (c) => c.json(await c.var.services.tags.deleteTag(checkId('tag', c.req.param('id')))));
