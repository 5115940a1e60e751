/**
 * @module
 * `/api/customers`: search, read, edit (If-Match), notes, timeline.
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../types.ts';
import { STAGES, type Stage } from '../crm/port.ts';
import { AppError } from '../errors.ts';
import { idempotencyKey } from '../http/idempotency.ts';
import { checkId } from '../ids.ts';
import type { CustomerEdit } from '../wire.ts';

function customerId(c: Context<AppEnv>): string {
  return checkId('customer', c.req.param('id'));
}

function writeKey(c: Context<AppEnv>, purpose: string): string {
  return idempotencyKey(c.req.header('idempotency-key'), purpose, c.var.services.app.corpId);
}

function stringList(value: unknown, field: string, maxItems: number, maxLength: number): string[] {
  if (!Array.isArray(value) || value.length > maxItems || !value.every((item) => typeof item === 'string' && item.length <= maxLength)) {
    throw new AppError(400, 'bad_request', `${field} must be a list of at most ${maxItems} texts of at most ${maxLength} characters`);
  }
  return value.map((item: string) => item.trim()).filter((item) => item !== '');
}

/** Only the fields a person may edit from the sidebar, each checked. */
function readPatch(body: unknown): CustomerEdit {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError(400, 'bad_request', 'Send a JSON object');
  const input = body as Record<string, unknown>;
  const allowed = new Set(['name', 'company', 'stage', 'mobiles', 'tags', 'customFields']);
  const unknown = Object.keys(input).filter((key) => !allowed.has(key));
  if (unknown.length > 0) throw new AppError(400, 'bad_request', `Unknown or read-only fields: ${unknown.join(', ')}`);
  const patch: CustomerEdit = {};
  if (input.name !== undefined) {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 100) throw new AppError(400, 'bad_request', 'name must be 1-100 characters');
    patch.name = input.name.trim();
  }
  if (input.company !== undefined) {
    if (typeof input.company !== 'string' || input.company.length > 200) throw new AppError(400, 'bad_request', 'company must be at most 200 characters');
    patch.company = input.company.trim();
  }
  if (input.stage !== undefined) {
    if (!STAGES.includes(input.stage as Stage)) throw new AppError(400, 'bad_request', `stage must be one of ${STAGES.join(', ')}`);
    patch.stage = input.stage as Stage;
  }
  if (input.mobiles !== undefined) patch.mobiles = stringList(input.mobiles, 'mobiles', 10, 32);
  if (input.tags !== undefined) patch.tags = stringList(input.tags, 'tags', 50, 40);
  if (input.customFields !== undefined) {
    const fields = input.customFields;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new AppError(400, 'bad_request', 'customFields must be an object of texts');
    const entries = Object.entries(fields as Record<string, unknown>);
    if (entries.length > 50 || !entries.every(([key, value]) => key.length <= 40 && typeof value === 'string' && value.length <= 500)) {
      throw new AppError(400, 'bad_request', 'customFields must hold at most 50 texts of at most 500 characters');
    }
    patch.customFields = Object.fromEntries(entries) as Record<string, string>;
  }
  if (Object.keys(patch).length === 0) throw new AppError(400, 'bad_request', 'Nothing to change');
  return patch;
}

export const customersRoute = new Hono<AppEnv>()
  .get('/', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (q.length > 100) throw new AppError(400, 'bad_request', 'q must be at most 100 characters');
    return c.json({ customers: await c.var.services.customers.search(q, await c.var.services.scope()) });
  })

  .get('/:id', async (c) => c.json({ customer: await c.var.services.customers.get(customerId(c), await c.var.services.scope()) }))

  .patch('/:id', async (c) => {
    const id = customerId(c);
    const ifMatch = c.req.header('if-match');
    const version = ifMatch ? Number(ifMatch.replace(/^W\//, '').replaceAll('"', '')) : NaN;
    if (!Number.isInteger(version) || version < 0) {
      throw new AppError(428, 'version_required', 'Send If-Match with the version you read, e.g. If-Match: "3"');
    }
    const patch = readPatch(await c.req.json().catch(() => undefined));
    const customer = await c.var.services.customers.update(id, version, patch, c.var.user, await c.var.services.scope(), writeKey(c, 'patch'));
    c.header('etag', `"${customer.version}"`);
    return c.json({ customer });
  })

  .get('/:id/notes', async (c) => c.json({ notes: await c.var.services.customers.notes(customerId(c), await c.var.services.scope()) }))

  .post('/:id/notes', async (c) => {
    const id = customerId(c);
    const body: unknown = await c.req.json().catch(() => undefined);
    const text = typeof body === 'object' && body !== null ? (body as { body?: unknown }).body : undefined;
    if (typeof text !== 'string' || text.trim() === '' || text.length > 5000) throw new AppError(400, 'bad_request', 'Send { "body": "…" } with 1-5000 characters');
    const note = await c.var.services.customers.addNote(id, text.trim(), c.var.user, await c.var.services.scope(), writeKey(c, 'note'));
    return c.json({ note }, 201);
  })

  .get('/:id/timeline', async (c) => c.json({ items: await c.var.services.customers.timeline(customerId(c), await c.var.services.scope()) }));
